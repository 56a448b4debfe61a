//! Open a channel by name, as an in-guest agent does: wait (bounded) for
//! `<dev dir>/xen-channel/<name>` to appear and lead to a device, then open it.
//!
//! The wait uses inotify on the dev dir (where `hvc<N>` and `xen-channel` appear) and on
//! `xen-channel` (where the link appears). Every wake-up simply tries the open again, so no
//! event needs to be interpreted and none can be missed: the watches are in place before
//! each attempt.

use super::{checked_name, GuestError, CHANNEL_DIR, DEFAULT_DEV_DIR};
use std::ffi::{CString, OsStr};
use std::fs::{File, OpenOptions};
use std::io::{self, ErrorKind};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// What wakes a waiter: a name created in, or moved into, a watched directory.
const WAKE_MASK: u32 = libc::IN_CREATE | libc::IN_MOVED_TO;

/// An inotify instance; closed on drop.
struct Inotify(OwnedFd);

impl Inotify {
    fn new() -> io::Result<Inotify> {
        // SAFETY: plain system call; a negative result is an error.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor owned by nobody else.
        Ok(Inotify(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Watch `dir` (again: watching the same inode twice only updates the mask).
    fn watch(&self, dir: &Path) -> io::Result<()> {
        let path = CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(ErrorKind::InvalidInput))?;
        // SAFETY: a valid inotify fd and NUL-terminated path.
        let wd = unsafe {
            libc::inotify_add_watch(
                self.0.as_raw_fd(),
                path.as_ptr(),
                WAKE_MASK | libc::IN_ONLYDIR,
            )
        };
        if wd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Wait up to `timeout` for an event, then drop whatever events are queued.
    fn wait(&self, timeout: Duration) -> io::Result<()> {
        // Rounded up, so a wait never ends just before the deadline and spins.
        let ms = timeout.as_nanos().div_ceil(1_000_000);
        let ms = libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX);
        let mut pfd = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(e)
            };
        }
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: reading into a buffer of `buf.len()` bytes.
            let got = unsafe {
                libc::read(
                    self.0.as_raw_fd(),
                    buf.as_mut_ptr().cast::<libc::c_void>(),
                    buf.len(),
                )
            };
            if got <= 0 {
                return Ok(());
            }
        }
    }
}

/// Open `/dev/xen-channel/<name>`, waiting up to `timeout` for it; see [`open_channel_in`].
pub fn open_channel(name: &[u8], timeout: Duration) -> Result<File, GuestError> {
    open_channel_in(Path::new(DEFAULT_DEV_DIR), name, timeout)
}

/// Wait up to `timeout` for `<dev_dir>/xen-channel/<name>` to exist and lead to a file (the
/// link may appear before its `hvc<N>`), then open it for reading and writing, without
/// making it the controlling terminal. A zero timeout tries once.
///
/// Errors: `UnsafeName` for a name that is not one safe path component, `TimedOut` when the
/// channel did not appear in time, `Io` when `dev_dir` is missing, inotify fails, or the
/// open fails for any reason other than a missing file.
pub fn open_channel_in(dev_dir: &Path, name: &[u8], timeout: Duration) -> Result<File, GuestError> {
    checked_name(name, None)?;
    let dir = dev_dir.join(CHANNEL_DIR);
    let path = dir.join(OsStr::from_bytes(name));
    let deadline = Instant::now().checked_add(timeout);
    let inotify = Inotify::new().map_err(|e| GuestError::Io(format!("inotify: {e}")))?;
    inotify
        .watch(dev_dir)
        .map_err(|e| GuestError::Io(format!("watching {}: {e}", dev_dir.display())))?;
    loop {
        match inotify.watch(&dir) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(GuestError::Io(format!("watching {}: {e}", dir.display()))),
        }
        match OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&path)
        {
            Ok(file) => return Ok(file),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(GuestError::Io(format!("opening {}: {e}", path.display()))),
        }
        let left = deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
        });
        if left.is_zero() {
            return Err(GuestError::TimedOut(format!(
                "channel \"{}\" did not appear as {} within {} ms",
                name.escape_ascii(),
                path.display(),
                timeout.as_millis()
            )));
        }
        inotify
            .wait(left)
            .map_err(|e| GuestError::Io(format!("waiting for {}: {e}", path.display())))?;
    }
}
