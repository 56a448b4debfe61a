//! Safe access to xenstore through the real libxenstore.
//!
//! Every operation runs inside a transaction. [`XenStore::transaction`] starts one, runs the
//! work and commits, starting the whole work again when the commit (or any step) reports
//! `EAGAIN` — another writer got there first — up to [`MAX_TRANSACTION_ATTEMPTS`] times.

mod sys;

use crate::error::{Error, Result};
use libc::{c_char, c_uint, c_void};
use std::ffi::CString;
use std::ptr::NonNull;

/// How often a conflicting transaction is started again before giving up.
pub const MAX_TRANSACTION_ATTEMPTS: u32 = 64;

/// libxenstore's handle, as libxl passes it to the embedding API.
pub type XsHandle = sys::xs_handle;
/// A transaction id; [`XBT_NULL`] means "no transaction".
pub type XsTransaction = sys::xs_transaction_t;
pub const XBT_NULL: XsTransaction = sys::XBT_NULL;

/// What a domain may do with a node. The first entry of a node's list names its owner and
/// what every domain not listed may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    None,
    Read,
    Write,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perm {
    pub domid: u32,
    pub access: Access,
}

impl Perm {
    pub const fn new(domid: u32, access: Access) -> Perm {
        Perm { domid, access }
    }

    fn to_sys(self) -> sys::xs_permissions {
        let perms = match self.access {
            Access::None => sys::XS_PERM_NONE,
            Access::Read => sys::XS_PERM_READ,
            Access::Write => sys::XS_PERM_WRITE,
            Access::Both => sys::XS_PERM_READ | sys::XS_PERM_WRITE,
        };
        sys::xs_permissions {
            id: self.domid,
            perms: perms as _,
        }
    }

    fn from_sys(p: &sys::xs_permissions) -> Perm {
        let bits = p.perms;
        let access = match (
            bits & sys::XS_PERM_READ != 0,
            bits & sys::XS_PERM_WRITE != 0,
        ) {
            (false, false) => Access::None,
            (true, false) => Access::Read,
            (false, true) => Access::Write,
            (true, true) => Access::Both,
        };
        Perm {
            domid: p.id,
            access,
        }
    }
}

/// A failed xenstore request.
#[derive(Debug)]
struct XsError {
    op: &'static str,
    path: String,
    errno: i32,
}

impl XsError {
    fn last(op: &'static str, path: &str) -> XsError {
        XsError {
            op,
            path: path.to_owned(),
            errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        }
    }

    fn conflict(&self) -> bool {
        self.errno == libc::EAGAIN
    }

    fn into_error(self) -> Error {
        let cause = std::io::Error::from_raw_os_error(self.errno);
        let hint = match self.errno {
            libc::ECONNREFUSED | libc::ECONNRESET | libc::EPIPE | libc::ENOENT
                if self.op == "open" =>
            {
                " (is xenstored running? XENSTORED_PATH names its socket)"
            }
            libc::ECONNRESET | libc::EPIPE | libc::EIO | libc::EBADF => {
                " (the xenstore daemon went away)"
            }
            _ => "",
        };
        let at = if self.path.is_empty() {
            String::new()
        } else {
            format!(" {}", self.path)
        };
        Error::Fail(format!("xenstore {}{at}: {cause}{hint}", self.op))
    }
}

/// A connection to xenstored.
pub struct XenStore {
    handle: NonNull<sys::xs_handle>,
    /// Opened by us (closed on drop) rather than lent by the caller.
    owned: bool,
}

impl XenStore {
    /// Connect as libxenstore does for `xs_open(0)`: the socket named by `XENSTORED_PATH`,
    /// else the default daemon socket, else the kernel device.
    pub fn open() -> Result<XenStore> {
        // SAFETY: plain library call; a NULL result is handled.
        let raw = unsafe { sys::xs_open(0) };
        NonNull::new(raw)
            .map(|handle| XenStore {
                handle,
                owned: true,
            })
            .ok_or_else(|| XsError::last("open", "").into_error())
    }

    /// Use a handle the caller owns and keeps open for as long as this value lives.
    ///
    /// # Safety
    /// `handle` is NULL or a live handle from `xs_open`.
    pub unsafe fn borrowed(handle: *mut XsHandle) -> Option<XenStore> {
        NonNull::new(handle).map(|handle| XenStore {
            handle,
            owned: false,
        })
    }

    /// Another value for the same connection, which never closes it: for a context that lends
    /// its connection to one call.
    pub fn lend(&self) -> XenStore {
        XenStore {
            handle: self.handle,
            owned: false,
        }
    }

    /// Run `work` in a fresh transaction and commit it, starting again from scratch when
    /// another writer conflicts. `work` must be safe to repeat: it sees no effect of an
    /// earlier, abandoned attempt.
    pub fn transaction<T>(&self, mut work: impl FnMut(&Txn<'_>) -> Result<T>) -> Result<T> {
        let mut last_conflict = String::from("commit conflicts");
        for _ in 0..MAX_TRANSACTION_ATTEMPTS {
            // SAFETY: the handle is live for as long as self.
            let t = unsafe { sys::xs_transaction_start(self.handle.as_ptr()) };
            if t == XBT_NULL {
                return Err(XsError::last("transaction start", "").into_error());
            }
            let txn = Txn {
                store: self,
                t,
                conflicted: std::cell::Cell::new(false),
            };
            let outcome = work(&txn);
            let abort = outcome.is_err();
            // SAFETY: `t` was started above and is ended exactly once.
            let committed = unsafe { sys::xs_transaction_end(self.handle.as_ptr(), t, abort) };
            if txn.conflicted.get() {
                if let Err(e) = outcome {
                    last_conflict = e.to_string();
                }
                continue;
            }
            let value = outcome?;
            if committed {
                return Ok(value);
            }
            let e = XsError::last("transaction commit", "");
            if !e.conflict() {
                return Err(e.into_error());
            }
        }
        Err(Error::Fail(format!(
            "xenstore transaction still failing after {MAX_TRANSACTION_ATTEMPTS} attempts: {last_conflict}"
        )))
    }

    /// Work inside a transaction the caller started (and will end), or outside any
    /// transaction with [`XBT_NULL`]. Conflicts are the caller's to retry.
    pub fn within(&self, t: XsTransaction) -> Txn<'_> {
        Txn {
            store: self,
            t,
            conflicted: std::cell::Cell::new(false),
        }
    }

    fn raw(&self) -> *mut sys::xs_handle {
        self.handle.as_ptr()
    }
}

impl Drop for XenStore {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: opened by `open` and closed once.
            unsafe { sys::xs_close(self.handle.as_ptr()) }
        }
    }
}

/// Requests made within one transaction.
pub struct Txn<'a> {
    store: &'a XenStore,
    t: XsTransaction,
    /// A request failed with EAGAIN: the transaction must be started again.
    conflicted: std::cell::Cell<bool>,
}

fn c_path(path: &str) -> Result<CString> {
    CString::new(path).map_err(|_| Error::Invalid(format!("xenstore path {path:?} contains NUL")))
}

/// A buffer libxenstore `malloc`'d for us.
struct Malloced<T>(*mut T);

impl<T> Drop for Malloced<T> {
    fn drop(&mut self) {
        // SAFETY: allocated by libxenstore with malloc, freed once.
        unsafe { libc::free(self.0.cast::<c_void>()) }
    }
}

impl Txn<'_> {
    pub fn id(&self) -> XsTransaction {
        self.t
    }

    /// A failed request inside a transaction: besides EAGAIN, 4.17's xenstored answers
    /// requests that touch nodes another transaction changed meanwhile with EIO, EINVAL or
    /// ENOENT (seen with concurrent writers). All of these mean "start again"; a genuine
    /// error recurs on every attempt and is reported once the attempts run out, and a
    /// vanished daemon fails the next transaction start.
    fn fail(&self, e: XsError) -> Error {
        let restartable = matches!(
            e.errno,
            libc::EAGAIN | libc::EIO | libc::EINVAL | libc::ENOENT
        );
        if self.t != XBT_NULL && restartable {
            self.conflicted.set(true);
        }
        e.into_error()
    }

    /// The value at `path`, or `None` if there is no such node.
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let cpath = c_path(path)?;
        let mut len: c_uint = 0;
        // SAFETY: valid handle and NUL-terminated path; the result is malloc'd or NULL.
        let p = unsafe { sys::xs_read(self.store.raw(), self.t, cpath.as_ptr(), &mut len) };
        if p.is_null() {
            let e = XsError::last("read", path);
            return if e.errno == libc::ENOENT {
                Ok(None)
            } else {
                Err(self.fail(e))
            };
        }
        let buf = Malloced(p.cast::<u8>());
        // SAFETY: libxenstore returns `len` valid bytes.
        Ok(Some(
            unsafe { std::slice::from_raw_parts(buf.0, len as usize) }.to_vec(),
        ))
    }

    /// The value at `path` as a C caller sees it: the bytes before the first NUL.
    pub fn read_c(&self, path: &str) -> Result<Option<CString>> {
        Ok(self.read(path)?.map(|mut v| {
            v.truncate(v.iter().position(|&b| b == 0).unwrap_or(v.len()));
            CString::new(v).expect("cut at the first NUL")
        }))
    }

    pub fn write(&self, path: &str, value: &[u8]) -> Result<()> {
        let cpath = c_path(path)?;
        let len = c_uint::try_from(value.len())
            .map_err(|_| Error::Invalid(format!("value for {path} is too large")))?;
        // SAFETY: valid handle, path and buffer of `len` bytes.
        let ok = unsafe {
            sys::xs_write(
                self.store.raw(),
                self.t,
                cpath.as_ptr(),
                value.as_ptr().cast(),
                len,
            )
        };
        if ok {
            Ok(())
        } else {
            Err(self.fail(XsError::last("write", path)))
        }
    }

    pub fn mkdir(&self, path: &str) -> Result<()> {
        let cpath = c_path(path)?;
        // SAFETY: valid handle and path.
        let ok = unsafe { sys::xs_mkdir(self.store.raw(), self.t, cpath.as_ptr()) };
        if ok {
            Ok(())
        } else {
            Err(self.fail(XsError::last("mkdir", path)))
        }
    }

    /// Remove `path` and everything below it; a missing node is not an error. (A missing
    /// node is not sent to xenstored at all: 4.17's daemon can fail such a removal with EIO
    /// inside a transaction when another transaction changed the parent meanwhile.)
    pub fn rm(&self, path: &str) -> Result<()> {
        if self.read(path)?.is_none() {
            return Ok(());
        }
        let cpath = c_path(path)?;
        // SAFETY: valid handle and path.
        let ok = unsafe { sys::xs_rm(self.store.raw(), self.t, cpath.as_ptr()) };
        let e = if ok {
            return Ok(());
        } else {
            XsError::last("rm", path)
        };
        if e.errno == libc::ENOENT {
            Ok(())
        } else {
            Err(self.fail(e))
        }
    }

    /// The names of the children of `path` in xenstored's order, or `None` if there is no
    /// such node.
    pub fn directory(&self, path: &str) -> Result<Option<Vec<String>>> {
        let cpath = c_path(path)?;
        let mut num: c_uint = 0;
        // SAFETY: valid handle and path; the result is one malloc'd block or NULL.
        let p = unsafe { sys::xs_directory(self.store.raw(), self.t, cpath.as_ptr(), &mut num) };
        if p.is_null() {
            let e = XsError::last("directory", path);
            return if e.errno == libc::ENOENT {
                Ok(None)
            } else {
                Err(self.fail(e))
            };
        }
        let block = Malloced(p);
        let names = (0..num as usize)
            .map(|i| {
                // SAFETY: `num` entries, each a NUL-terminated string inside the block.
                let s = unsafe { std::ffi::CStr::from_ptr(*block.0.add(i) as *const c_char) };
                s.to_string_lossy().into_owned()
            })
            .collect();
        Ok(Some(names))
    }

    pub fn get_perms(&self, path: &str) -> Result<Option<Vec<Perm>>> {
        let cpath = c_path(path)?;
        let mut num: c_uint = 0;
        // SAFETY: valid handle and path; the result is malloc'd or NULL.
        let p =
            unsafe { sys::xs_get_permissions(self.store.raw(), self.t, cpath.as_ptr(), &mut num) };
        if p.is_null() {
            let e = XsError::last("get permissions", path);
            return if e.errno == libc::ENOENT {
                Ok(None)
            } else {
                Err(self.fail(e))
            };
        }
        let block = Malloced(p);
        // SAFETY: `num` entries.
        let perms = unsafe { std::slice::from_raw_parts(block.0, num as usize) };
        Ok(Some(perms.iter().map(Perm::from_sys).collect()))
    }

    pub fn set_perms(&self, path: &str, perms: &[Perm]) -> Result<()> {
        let cpath = c_path(path)?;
        let mut raw: Vec<sys::xs_permissions> = perms.iter().map(|p| p.to_sys()).collect();
        // SAFETY: valid handle, path and array of `raw.len()` entries.
        let ok = unsafe {
            sys::xs_set_permissions(
                self.store.raw(),
                self.t,
                cpath.as_ptr(),
                raw.as_mut_ptr(),
                raw.len() as c_uint,
            )
        };
        if ok {
            Ok(())
        } else {
            Err(self.fail(XsError::last("set permissions", path)))
        }
    }
}
