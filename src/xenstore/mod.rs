//! Safe access to xenstore through the real libxenstore, and for our own transactions a
//! pipelined connection of our own (see `wire`).
//!
//! Reads need no transaction ([`XenStore::plain`]), as libxl reads: each node a guest or
//! another writer may change is read once and parsed defensively. Writes go into small
//! transactions ([`XenStore::transaction`]): a transaction another writer conflicts with is
//! started again after a randomized, growing pause, for up to [`CONFLICT_RETRY_LIMIT`]. Our
//! own transactions run on the daemon's socket where there is one, with their writes sent
//! without waiting ([`Txn::settle`] reads the answers before anything needs one). A
//! request xenstored does not answer within the limit of `XLCHANNEL_XS_TIMEOUT` fails with
//! a timeout instead of blocking (see `watchdog`).

mod sys;
mod wire;
mod watchdog;

use crate::error::{Error, Result};
use libc::{c_char, c_uint, c_void};
use std::cell::{Cell, RefCell};
use std::ffi::CString;
use std::ptr::NonNull;
use std::time::{Duration, Instant};
use watchdog::Watchdog;
pub use watchdog::{DEFAULT_TIMEOUT, TIMEOUT_VAR};

/// How long transactions that keep conflicting with other writers are started again before
/// the operation gives up. Generous: a busy host may need many attempts, and each waits.
pub const CONFLICT_RETRY_LIMIT: Duration = Duration::from_secs(120);

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
#[derive(Debug, Clone)]
struct XsError {
    op: &'static str,
    path: String,
    errno: i32,
    /// The watchdog cut the request short after this long without an answer.
    timed_out: Option<Duration>,
}

/// errnos with which libxenstore reports a connection it could not use (it then closes it).
fn lost_connection(errno: i32) -> bool {
    matches!(
        errno,
        libc::EBADF | libc::EPIPE | libc::ECONNRESET | libc::ENOTCONN | libc::ECONNREFUSED
    )
}

impl XsError {
    /// A request `op` at `path` that failed with `errno` (not a timeout).
    fn new(op: &'static str, path: &str, errno: i32) -> XsError {
        XsError {
            op,
            path: path.to_owned(),
            errno,
            timed_out: None,
        }
    }

    /// Inside a transaction, 4.17's xenstored answers requests that touch nodes another
    /// transaction changed meanwhile with EIO, EINVAL or ENOENT as well as EAGAIN (seen with
    /// concurrent writers), and commits with EAGAIN: all mean "start again". A daemon that
    /// is gone fails the next transaction start instead, so it is never retried.
    fn restartable(&self) -> bool {
        self.timed_out.is_none()
            && matches!(
                self.errno,
                libc::EAGAIN | libc::EIO | libc::EINVAL | libc::ENOENT
            )
    }

    fn into_error(self) -> Error {
        let at = if self.path.is_empty() {
            String::new()
        } else {
            format!(" {}", self.path)
        };
        if let Some(limit) = self.timed_out {
            return Error::TimedOut(format!(
                "xenstore {}{at}: xenstored did not answer within {} s (stopped or hung?); \
                 {TIMEOUT_VAR} sets the limit",
                self.op,
                limit.as_secs_f64()
            ));
        }
        let cause = std::io::Error::from_raw_os_error(self.errno);
        let hint = match self.errno {
            libc::ECONNREFUSED | libc::ECONNRESET | libc::EPIPE | libc::ENOENT
                if self.op == "open" =>
            {
                " (is xenstored running? XENSTORED_PATH names its socket)"
            }
            e if lost_connection(e) => {
                " (the connection to xenstored is lost: the daemon went away)"
            }
            _ => "",
        };
        Error::Fail(format!("xenstore {}{at}: {cause}{hint}", self.op))
    }
}

/// The daemon's socket, as libxenstore finds it: `XENSTORED_PATH`, else `socket` in
/// `XENSTORED_RUNDIR` or `/var/run/xenstored`.
fn daemon_socket() -> std::path::PathBuf {
    match std::env::var_os("XENSTORED_PATH") {
        Some(p) => std::path::PathBuf::from(p),
        None => std::path::PathBuf::from(
            std::env::var_os("XENSTORED_RUNDIR").unwrap_or_else(|| "/var/run/xenstored".into()),
        )
        .join("socket"),
    }
}

/// `XENSTORED_PATH` (else the default socket) must not name something libxenstore would
/// open as its device and write requests into, such as a regular file.
fn check_daemon_path() -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let path = daemon_socket();
    let kind = match std::fs::metadata(&path) {
        // Missing: libxenstore fails (or falls back to the kernel device) by itself.
        Err(_) => return Ok(()),
        Ok(m) if m.file_type().is_socket() || m.file_type().is_char_device() => return Ok(()),
        Ok(m) if m.is_dir() => "a directory",
        Ok(m) if m.is_file() => "a regular file",
        Ok(m) if m.file_type().is_fifo() => "a FIFO",
        Ok(_) => "not a socket",
    };
    Err(Error::Fail(format!(
        "xenstore open: {} is {kind}, not xenstored's socket (XENSTORED_PATH names the socket)",
        path.display()
    )))
}

/// `xs_open(0)`, and the socket it connected through (for the watchdog).
fn open_handle() -> Result<(NonNull<sys::xs_handle>, Option<watchdog::Socket>)> {
    // Opens are serialised so that the descriptor `xs_open` adds is ours to find.
    static OPENING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = OPENING.lock().unwrap_or_else(|e| e.into_inner());
    let before = watchdog::open_fds();
    // SAFETY: plain library call; a NULL result is handled.
    let raw = unsafe { sys::xs_open(0) };
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let handle = NonNull::new(raw).ok_or_else(|| XsError::new("open", "", errno).into_error())?;
    Ok((handle, watchdog::new_socket(&before, &watchdog::open_fds())))
}

/// A pseudo-random pause that doubles its range after each conflict, so that writers who
/// collided do not collide again in lockstep.
struct Backoff {
    state: u64,
    ceiling: Duration,
}

impl Backoff {
    /// About one small transaction's time, so that the writer that won is usually done.
    const FIRST: Duration = Duration::from_millis(2);
    const MAX: Duration = Duration::from_millis(64);

    fn new() -> Backoff {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let local = 0u8;
        let seed = now ^ (u64::from(std::process::id()) << 32) ^ (&local as *const u8 as u64);
        Backoff {
            state: seed | 1,
            ceiling: Backoff::FIRST,
        }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*: plenty for spreading retries.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pause(&mut self) {
        let range = self.ceiling.as_nanos() as u64;
        std::thread::sleep(Duration::from_nanos(self.next() % range.max(1)));
        self.ceiling = (self.ceiling * 2).min(Backoff::MAX);
    }
}

/// Set to `0`, every request goes through libxenstore, one answer at a time: the
/// transactions xlchannel runs itself then send their requests as libxl's do.
pub const PIPELINE_VAR: &str = "XLCHANNEL_XS_PIPELINE";

/// Requests a transaction may leave unanswered before their answers are read.
const SETTLE_EVERY: usize = 256;

/// Our own socket connection, for the transactions we run (see `wire`).
enum WireSlot {
    /// Not connected yet, or the last connection broke: the next transaction connects.
    Untried,
    Open(wire::Wire),
    /// The daemon has no socket here (the kernel's device), or pipelining is switched off.
    Unavailable,
}

/// A connection to xenstored.
pub struct XenStore {
    handle: Cell<NonNull<sys::xs_handle>>,
    /// Opened by us (closed on drop, opened again after a timeout or a lost connection)
    /// rather than lent by the caller.
    owned: bool,
    /// Bounds the waits of a connection we opened.
    watchdog: RefCell<Option<Watchdog>>,
    wire: RefCell<WireSlot>,
    /// Counts the wire connections made, so a transaction of a broken one is never
    /// continued on the next.
    wire_generation: Cell<u64>,
    /// A transaction of ours is open on the wire connection.
    wire_in_use: Cell<bool>,
}

/// Marks the wire connection as one transaction's while it lives; dropped before the
/// transaction ended (a panic in its work), it drops the connection.
struct WireInUse<'a> {
    store: &'a XenStore,
    ended: bool,
}

impl<'a> WireInUse<'a> {
    fn claim(store: &'a XenStore) -> WireInUse<'a> {
        store.wire_in_use.set(true);
        WireInUse {
            store,
            ended: false,
        }
    }
}

impl Drop for WireInUse<'_> {
    fn drop(&mut self) {
        self.store.wire_in_use.set(false);
        if !self.ended {
            if let Ok(mut slot) = self.store.wire.try_borrow_mut() {
                *slot = WireSlot::Untried;
            }
        }
    }
}

impl XenStore {
    /// Connect as libxenstore does for `xs_open(0)`: the socket named by `XENSTORED_PATH`,
    /// else the default daemon socket, else the kernel device. A path that names neither a
    /// socket nor a device is refused before anything is sent.
    pub fn open() -> Result<XenStore> {
        let timeout = watchdog::timeout_from_env().map_err(Error::Invalid)?;
        check_daemon_path()?;
        let (handle, socket) = open_handle()?;
        Ok(XenStore {
            handle: Cell::new(handle),
            owned: true,
            watchdog: RefCell::new(Some(Watchdog::new(socket, timeout))),
            wire: RefCell::new(WireSlot::Untried),
            wire_generation: Cell::new(0),
            wire_in_use: Cell::new(false),
        })
    }

    /// Use a handle the caller owns and keeps open for as long as this value lives.
    ///
    /// # Safety
    /// `handle` is NULL or a live handle from `xs_open`.
    pub unsafe fn borrowed(handle: *mut XsHandle) -> Option<XenStore> {
        NonNull::new(handle).map(|handle| XenStore {
            handle: Cell::new(handle),
            owned: false,
            watchdog: RefCell::new(None),
            wire: RefCell::new(WireSlot::Untried),
            wire_generation: Cell::new(0),
            wire_in_use: Cell::new(false),
        })
    }

    /// A connection of ours that timed out or was lost is opened again; the daemon may be
    /// back.
    fn revive(&self) -> Result<()> {
        let dead = self.watchdog.borrow().as_ref().is_some_and(Watchdog::dead);
        if !self.owned || !dead {
            return Ok(());
        }
        let timeout = self
            .watchdog
            .borrow()
            .as_ref()
            .map_or(DEFAULT_TIMEOUT, Watchdog::timeout);
        let (handle, socket) = open_handle()?;
        drop(self.watchdog.replace(None));
        // SAFETY: our old handle, closed once; nothing refers to it any more.
        unsafe { sys::xs_close(self.handle.get().as_ptr()) };
        self.handle.set(handle);
        self.watchdog.replace(Some(Watchdog::new(socket, timeout)));
        Ok(())
    }

    /// Send one request through libxenstore. `request` returns `None` on failure, with
    /// errno set.
    fn call<R>(
        &self,
        op: &'static str,
        path: &str,
        request: impl FnOnce(*mut sys::xs_handle) -> Option<R>,
    ) -> std::result::Result<R, XsError> {
        let dog = self.watchdog.borrow();
        if let Some(d) = dog.as_ref() {
            d.begin();
        }
        let result = request(self.handle.get().as_ptr());
        let errno = match result {
            Some(_) => 0,
            None => std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        };
        let fired = dog
            .as_ref()
            .is_some_and(|d| d.end(result.is_none() && lost_connection(errno)));
        result.ok_or_else(|| XsError {
            timed_out: fired.then(|| dog.as_ref().map_or(DEFAULT_TIMEOUT, Watchdog::timeout)),
            ..XsError::new(op, path, errno)
        })
    }

    /// How long one request may wait: our connection's limit, or for a lent handle the one
    /// `XLCHANNEL_XS_TIMEOUT` gives (the default if it is unreadable; the handle's own
    /// requests are the caller's to bound).
    fn timeout(&self) -> Duration {
        self.watchdog.borrow().as_ref().map_or_else(
            || watchdog::timeout_from_env().unwrap_or(DEFAULT_TIMEOUT),
            Watchdog::timeout,
        )
    }

    /// The generation of our wire connection, connecting first if need be; `None` when our
    /// transactions go through libxenstore (no daemon socket, pipelining switched off, a
    /// socket that refuses us: libxenstore then reports why; or a transaction of ours is
    /// open on it already).
    fn wire_ready(&self) -> Option<u64> {
        use std::os::unix::fs::FileTypeExt;
        if self.wire_in_use.get() {
            return None;
        }
        let mut slot = self.wire.borrow_mut();
        if matches!(*slot, WireSlot::Untried) {
            let path = daemon_socket();
            let is_socket = std::fs::metadata(&path).is_ok_and(|m| m.file_type().is_socket());
            if std::env::var_os(PIPELINE_VAR).is_some_and(|v| v == "0") || !is_socket {
                *slot = WireSlot::Unavailable;
            } else if let Ok(w) = wire::Wire::connect(&path, self.timeout()) {
                self.wire_generation.set(self.wire_generation.get() + 1);
                *slot = WireSlot::Open(w);
            }
        }
        matches!(*slot, WireSlot::Open(_)).then(|| self.wire_generation.get())
    }

    /// Work on our wire connection of `generation`. A connection that broke is dropped (the
    /// next transaction connects again); a transaction of it fails from then on.
    fn on_wire<R>(
        &self,
        generation: u64,
        op: &'static str,
        path: &str,
        work: impl FnOnce(&mut wire::Wire) -> std::result::Result<R, wire::Failure>,
    ) -> std::result::Result<R, XsError> {
        let mut slot = self.wire.borrow_mut();
        let w = match &mut *slot {
            WireSlot::Open(w) if generation == self.wire_generation.get() => w,
            _ => return Err(XsError::new(op, path, libc::ECONNRESET)),
        };
        work(w).map_err(|f| {
            if matches!(f, wire::Failure::Broken(_)) {
                *slot = WireSlot::Untried;
            }
            XsError {
                timed_out: f.timed_out().then(|| self.timeout()),
                ..XsError::new(op, path, f.errno())
            }
        })
    }

    /// Requests outside any transaction, as libxl reads.
    pub fn plain(&self) -> Result<Txn<'_>> {
        self.revive()?;
        Ok(self.within(XBT_NULL))
    }

    /// Run `work` in a fresh transaction and commit it, starting again from scratch when
    /// another writer conflicts (after a randomized pause), for up to
    /// [`CONFLICT_RETRY_LIMIT`]. `work` must be safe to repeat: it sees no effect of an
    /// earlier, abandoned attempt. A daemon that went away or stopped answering ends it
    /// with that error.
    pub fn transaction<T>(&self, mut work: impl FnMut(&Txn<'_>) -> Result<T>) -> Result<T> {
        self.revive()?;
        let started = Instant::now();
        let mut backoff = Backoff::new();
        let mut attempts = 0u64;
        loop {
            attempts += 1;
            let (t, wire) = self.start_transaction().map_err(XsError::into_error)?;
            let txn = Txn::new(self, t, wire);
            // The wire connection is this transaction's until it ends: a transaction begun
            // inside it goes through libxenstore, and one left by a panic drops the
            // connection (its answers would be taken for the next one's).
            let mut in_use = wire.map(|_| WireInUse::claim(self));
            let outcome = work(&txn);
            // Every answer is read before the end, whatever the outcome: the connection
            // stays in step. A change that failed (a write, mkdir, permission change or
            // removal) fails the transaction, even where `work` went on past its error.
            let settled = txn.settle();
            let failed = txn.failed.borrow_mut().take();
            let outcome = match (outcome, settled, failed) {
                (Err(e), _, _) => Err(e),
                (Ok(_), _, Some(e)) => Err(txn.fail(e)),
                (Ok(_), Err(e), None) => Err(e),
                (Ok(value), Ok(()), None) => Ok(value),
            };
            let abort = outcome.is_err();
            let ended = match wire {
                Some(g) => self.on_wire(g, "transaction commit", "", |w| {
                    w.queue(wire::Kind::TransactionEnd, t, &[if abort { b"F\0" } else { b"T\0" }])?;
                    w.answer().map(drop)
                }),
                None => self.call("transaction commit", "", |h| {
                    // SAFETY: `t` was started above and is ended exactly once.
                    unsafe { sys::xs_transaction_end(h, t, abort) }.then_some(())
                }),
            };
            if let Some(guard) = in_use.as_mut() {
                guard.ended = true;
            }
            let conflict = if txn.conflicted.get() {
                if let Err(e) = ended {
                    if e.timed_out.is_some() {
                        return Err(e.into_error());
                    }
                }
                outcome.err().map(|e| e.to_string()).unwrap_or_default()
            } else {
                let value = outcome?;
                match ended {
                    Ok(()) => return Ok(value),
                    Err(e) if e.restartable() => e.into_error().to_string(),
                    Err(e) => return Err(e.into_error()),
                }
            };
            if started.elapsed() >= CONFLICT_RETRY_LIMIT {
                return Err(Error::Fail(format!(
                    "xenstore transaction still conflicting with other writers after {attempts} \
                     attempts in {} s (last conflict: {conflict})",
                    started.elapsed().as_secs()
                )));
            }
            backoff.pause();
        }
    }

    /// Start a transaction: on our wire connection (its generation returned with the id)
    /// when there is one, else through libxenstore. An idle wire connection the daemon has
    /// dropped since (a restart) is replaced once, before anything of the transaction is sent.
    fn start_transaction(&self) -> std::result::Result<(XsTransaction, Option<u64>), XsError> {
        for replaced in [false, true] {
            let Some(g) = self.wire_ready() else {
                break;
            };
            let started = self.on_wire(g, "transaction start", "", |w| {
                w.queue(wire::Kind::TransactionStart, 0, &[b"\0"])?;
                wire::transaction_id(&w.answer()?)
            });
            match started {
                Ok(t) => return Ok((t, Some(g))),
                Err(e) if !replaced && e.timed_out.is_none() && lost_connection(e.errno) => {}
                Err(e) => return Err(e),
            }
        }
        let t = self.call("transaction start", "", |h| {
            // SAFETY: the handle is live for as long as self.
            let t = unsafe { sys::xs_transaction_start(h) };
            (t != XBT_NULL).then_some(t)
        })?;
        Ok((t, None))
    }

    /// Work inside a transaction the caller started (and will end), or outside any
    /// transaction with [`XBT_NULL`]. Conflicts are the caller's to retry.
    pub fn within(&self, t: XsTransaction) -> Txn<'_> {
        Txn::new(self, t, None)
    }
}

impl Drop for XenStore {
    fn drop(&mut self) {
        if self.owned {
            drop(self.watchdog.replace(None));
            // SAFETY: opened by `open` (or `revive`) and closed once.
            unsafe { sys::xs_close(self.handle.get().as_ptr()) }
        }
    }
}

/// Requests made within one transaction, or outside any (`XBT_NULL`).
pub struct Txn<'a> {
    store: &'a XenStore,
    t: XsTransaction,
    /// A request failed in a way that means the transaction must be started again.
    conflicted: Cell<bool>,
    /// A transaction of ours on the wire connection of this generation: writes are sent
    /// without waiting, and their answers are read (`settle`) before anything needs one.
    wire: Option<u64>,
    /// What each request sent and not yet answered was (operation, path), in order.
    unsettled: RefCell<Vec<(&'static str, String)>>,
    /// Values read ahead (`prefetch`), each taken by the first read of its path.
    prefetched: RefCell<Vec<(String, Option<Vec<u8>>)>>,
    /// The first change that failed (`fail_change`): the transaction will not commit.
    failed: RefCell<Option<XsError>>,
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

impl<'a> Txn<'a> {
    fn new(store: &'a XenStore, t: XsTransaction, wire: Option<u64>) -> Txn<'a> {
        Txn {
            store,
            t,
            conflicted: Cell::new(false),
            wire,
            unsettled: RefCell::new(Vec::new()),
            prefetched: RefCell::new(Vec::new()),
            failed: RefCell::new(None),
        }
    }
}

/// `path` NUL-terminated, as the wire carries it.
fn wire_path(path: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(path.len() + 1);
    p.extend_from_slice(path.as_bytes());
    p.push(0);
    p
}

impl Txn<'_> {
    pub fn id(&self) -> XsTransaction {
        self.t
    }

    /// A failed request. In a transaction of ours, the errors of a racing writer mark it
    /// for a restart (see [`XsError::restartable`]).
    fn fail(&self, e: XsError) -> Error {
        if self.t != XBT_NULL && e.restartable() {
            self.conflicted.set(true);
        }
        e.into_error()
    }

    /// A change that failed: kept, so that the transaction of ours it belongs to ends
    /// without committing even if the caller goes on.
    fn fail_change(&self, e: XsError) -> Error {
        self.failed.borrow_mut().get_or_insert_with(|| e.clone());
        self.fail(e)
    }

    /// A request whose ENOENT means "no such node".
    fn maybe<R>(&self, e: std::result::Result<R, XsError>) -> Result<Option<R>> {
        match e {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.errno == libc::ENOENT && e.timed_out.is_none() => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Read the answers of every request sent without waiting; the first that failed is
    /// the error (the later ones are read all the same, to keep the connection in step).
    pub fn settle(&self) -> Result<()> {
        let Some(g) = self.wire else {
            return Ok(());
        };
        let sent = std::mem::take(&mut *self.unsettled.borrow_mut());
        let mut first = None;
        for (op, path) in sent {
            if let Err(e) = self.store.on_wire(g, op, &path, wire::Wire::answer) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), |e| Err(self.fail_change(e)))
    }

    /// Forget the values read ahead that a change at `path` may have made stale: its own,
    /// those above it (a write creates missing parents), and with `below` those under it
    /// (a removal).
    fn forget_around(&self, path: &str, below: bool) {
        let within = |inner: &str, outer: &str| {
            inner.starts_with(outer)
                && (inner.len() == outer.len() || inner.as_bytes()[outer.len()] == b'/')
        };
        self.prefetched
            .borrow_mut()
            .retain(|(p, _)| !(within(path, p) || (below && within(p, path))));
    }

    /// Send a change on the wire without waiting for its answer (`settle` reads it).
    fn send_unanswered(&self, g: u64, kind: wire::Kind, op: &'static str, path: &str, parts: &[&[u8]]) -> Result<()> {
        if kind != wire::Kind::SetPerms {
            self.forget_around(path, false);
        }
        self.store
            .on_wire(g, op, path, |w| w.queue(kind, self.t, parts))
            .map_err(|e| self.fail_change(e))?;
        let queued = {
            let mut unsettled = self.unsettled.borrow_mut();
            unsettled.push((op, path.to_owned()));
            unsettled.len()
        };
        if queued >= SETTLE_EVERY {
            self.settle()?;
        }
        Ok(())
    }

    /// One request on the wire whose answer is needed now (after the unanswered ones').
    fn ask(&self, g: u64, kind: wire::Kind, op: &'static str, path: &str, parts: &[&[u8]]) -> Result<std::result::Result<Vec<u8>, XsError>> {
        self.settle()?;
        Ok(self.store.on_wire(g, op, path, |w| {
            w.queue(kind, self.t, parts)?;
            w.answer()
        }))
    }

    /// Read the nodes at `paths` with one round trip, for the reads of them that follow (a
    /// transaction's reads before its writes). Through libxenstore this does nothing.
    pub fn prefetch(&self, paths: &[&str]) -> Result<()> {
        let Some(g) = self.wire else {
            return Ok(());
        };
        self.settle()?;
        let encoded: Vec<Vec<u8>> = paths.iter().map(|p| wire_path(p)).collect();
        for (path, p) in paths.iter().zip(&encoded) {
            self.store
                .on_wire(g, "read", path, |w| w.queue(wire::Kind::Read, self.t, &[p]))
                .map_err(|e| self.fail(e))?;
            self.unsettled.borrow_mut().push(("read", (*path).to_owned()));
        }
        let sent = std::mem::take(&mut *self.unsettled.borrow_mut());
        let mut first = None;
        for (op, path) in sent {
            match self.maybe(self.store.on_wire(g, op, &path, wire::Wire::answer)) {
                Ok(value) => self.prefetched.borrow_mut().push((path, value)),
                Err(e) => {
                    first.get_or_insert(e);
                }
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// The value at `path`, or `None` if there is no such node.
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let cpath = c_path(path)?;
        if let Some(g) = self.wire {
            let ahead = {
                let mut prefetched = self.prefetched.borrow_mut();
                let at = prefetched.iter().position(|(p, _)| p == path);
                at.map(|i| prefetched.swap_remove(i).1)
            };
            if let Some(value) = ahead {
                return Ok(value);
            }
            let got = self.ask(g, wire::Kind::Read, "read", path, &[&wire_path(path)])?;
            return self.maybe(got);
        }
        let got = self.store.call("read", path, |h| {
            let mut len: c_uint = 0;
            // SAFETY: valid handle and NUL-terminated path; the result is malloc'd or NULL.
            let p = unsafe { sys::xs_read(h, self.t, cpath.as_ptr(), &mut len) };
            let buf = Malloced(NonNull::new(p)?.as_ptr().cast::<u8>());
            // SAFETY: libxenstore returns `len` valid bytes.
            Some(unsafe { std::slice::from_raw_parts(buf.0, len as usize) }.to_vec())
        });
        self.maybe(got)
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
        if let Some(g) = self.wire {
            return self.send_unanswered(g, wire::Kind::Write, "write", path, &[&wire_path(path), value]);
        }
        let done = self.store.call("write", path, |h| {
            // SAFETY: valid handle, path and buffer of `len` bytes.
            unsafe { sys::xs_write(h, self.t, cpath.as_ptr(), value.as_ptr().cast(), len) }
                .then_some(())
        });
        done.map_err(|e| self.fail_change(e))
    }

    pub fn mkdir(&self, path: &str) -> Result<()> {
        let cpath = c_path(path)?;
        if let Some(g) = self.wire {
            return self.send_unanswered(g, wire::Kind::Mkdir, "mkdir", path, &[&wire_path(path)]);
        }
        let done = self.store.call("mkdir", path, |h| {
            // SAFETY: valid handle and path.
            unsafe { sys::xs_mkdir(h, self.t, cpath.as_ptr()) }.then_some(())
        });
        done.map_err(|e| self.fail_change(e))
    }

    /// Remove `path` and everything below it; a missing node is not an error. (A missing
    /// node is not sent to xenstored at all: 4.17's daemon can fail such a removal with EIO
    /// inside a transaction when another transaction changed the parent meanwhile.)
    pub fn rm(&self, path: &str) -> Result<()> {
        if self.read(path)?.is_none() {
            return Ok(());
        }
        let cpath = c_path(path)?;
        if let Some(g) = self.wire {
            self.forget_around(path, true);
            let done = self.ask(g, wire::Kind::Rm, "rm", path, &[&wire_path(path)])?;
            return self.removed(done);
        }
        let done = self.store.call("rm", path, |h| {
            // SAFETY: valid handle and path.
            unsafe { sys::xs_rm(h, self.t, cpath.as_ptr()) }.then_some(())
        });
        self.removed(done)
    }

    /// The outcome of a removal: a node gone meanwhile is not an error.
    fn removed<R>(&self, done: std::result::Result<R, XsError>) -> Result<()> {
        match done {
            Err(e) if e.errno != libc::ENOENT || e.timed_out.is_some() => Err(self.fail_change(e)),
            _ => Ok(()),
        }
    }

    /// The names of the children of `path` in xenstored's order, or `None` if there is no
    /// such node.
    pub fn directory(&self, path: &str) -> Result<Option<Vec<String>>> {
        let cpath = c_path(path)?;
        if let Some(g) = self.wire {
            let got = match self.ask(g, wire::Kind::Directory, "directory", path, &[&wire_path(path)])? {
                // Longer than one answer may be: in parts, as libxenstore reads it.
                Err(e) if e.errno == libc::E2BIG && e.timed_out.is_none() => self.directory_in_parts(g, path),
                got => got.map(|body| wire::directory_names(&body)),
            };
            return self.maybe(got);
        }
        let got = self.store.call("directory", path, |h| {
            let mut num: c_uint = 0;
            // SAFETY: valid handle and path; the result is one malloc'd block or NULL.
            let p = unsafe { sys::xs_directory(h, self.t, cpath.as_ptr(), &mut num) };
            let block = Malloced(NonNull::new(p)?.as_ptr());
            let names = (0..num as usize)
                .map(|i| {
                    // SAFETY: `num` entries, each a NUL-terminated string inside the block.
                    let s = unsafe { std::ffi::CStr::from_ptr(*block.0.add(i) as *const c_char) };
                    s.to_string_lossy().into_owned()
                })
                .collect::<Vec<_>>();
            Some(names)
        });
        self.maybe(got)
    }

    /// A directory too long for one answer, with `XS_DIRECTORY_PART` from offset 0 on; a
    /// directory that changes between parts (its generation) fails as a conflict.
    fn directory_in_parts(&self, g: u64, path: &str) -> std::result::Result<Vec<String>, XsError> {
        let mut names = Vec::new();
        let mut generation = Vec::new();
        loop {
            let offset = format!("{}\0", names.len());
            let body = self
                .store
                .on_wire(g, "directory", path, |w| {
                    w.queue(wire::Kind::DirectoryPart, self.t, &[&wire_path(path), offset.as_bytes()])?;
                    w.answer()
                })
                .map_err(|mut e| {
                    // A daemon without directory parts refuses them; libxenstore then
                    // reports the directory as too long, and so do we.
                    if matches!(e.errno, libc::EINVAL | libc::ENOSYS) && e.timed_out.is_none() {
                        e.errno = libc::E2BIG;
                    }
                    e
                })?;
            let (this_generation, part, last) = wire::directory_part(&body)
                .map_err(|f| XsError::new("directory", path, f.errno()))?;
            if names.is_empty() {
                generation = this_generation.to_vec();
            } else if this_generation != generation.as_slice() {
                // Changed by another writer between the parts: this transaction would
                // conflict at its commit anyway, so it starts again now.
                return Err(XsError::new("directory", path, libc::EAGAIN));
            }
            names.extend_from_slice(part);
            if last {
                break;
            }
        }
        Ok(wire::directory_names(&names))
    }

    pub fn get_perms(&self, path: &str) -> Result<Option<Vec<Perm>>> {
        let cpath = c_path(path)?;
        if let Some(g) = self.wire {
            let got = self.ask(g, wire::Kind::GetPerms, "get permissions", path, &[&wire_path(path)])?;
            return self.maybe(got.map(|body| wire::parse_perms(&body)));
        }
        let got = self.store.call("get permissions", path, |h| {
            let mut num: c_uint = 0;
            // SAFETY: valid handle and path; the result is malloc'd or NULL.
            let p = unsafe { sys::xs_get_permissions(h, self.t, cpath.as_ptr(), &mut num) };
            let block = Malloced(NonNull::new(p)?.as_ptr());
            // SAFETY: `num` entries.
            let perms = unsafe { std::slice::from_raw_parts(block.0, num as usize) };
            Some(perms.iter().map(Perm::from_sys).collect::<Vec<_>>())
        });
        self.maybe(got)
    }

    pub fn set_perms(&self, path: &str, perms: &[Perm]) -> Result<()> {
        let cpath = c_path(path)?;
        if let Some(g) = self.wire {
            let list = wire::perms_payload(perms);
            return self.send_unanswered(g, wire::Kind::SetPerms, "set permissions", path, &[&wire_path(path), &list]);
        }
        let mut raw: Vec<sys::xs_permissions> = perms.iter().map(|p| p.to_sys()).collect();
        let done = self.store.call("set permissions", path, |h| {
            // SAFETY: valid handle, path and array of `raw.len()` entries.
            unsafe {
                sys::xs_set_permissions(
                    h,
                    self.t,
                    cpath.as_ptr(),
                    raw.as_mut_ptr(),
                    raw.len() as c_uint,
                )
            }
            .then_some(())
        });
        done.map_err(|e| self.fail_change(e))
    }
}
