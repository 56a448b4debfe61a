//! Bounded waits on a xenstored that stops answering.
//!
//! libxenstore blocks in `read(2)` until its daemon answers, forever if the daemon is
//! stopped (SIGSTOP) or a socket accepts but never replies. A watchdog thread per connection
//! we opened watches the request in flight; when one has waited longer than the limit it
//! shuts the socket down (`shutdown(2)`), so the blocked call returns with an error, which
//! the caller reports as a timeout. libxenstore then closes its descriptor, and the
//! connection is opened again before the next operation.
//!
//! The descriptor is found by what `xs_open` added to the process (one new Unix socket);
//! handles lent by a caller (the embedding API) are the caller's to bound.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long one request may wait for its answer unless `XLCHANNEL_XS_TIMEOUT` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The environment variable holding the limit, in seconds.
pub const TIMEOUT_VAR: &str = "XLCHANNEL_XS_TIMEOUT";

/// The limit from `XLCHANNEL_XS_TIMEOUT` (seconds, a positive decimal), or the default.
pub fn timeout_from_env() -> Result<Duration, String> {
    parse_timeout(std::env::var_os(TIMEOUT_VAR).as_deref())
}

fn parse_timeout(value: Option<&std::ffi::OsStr>) -> Result<Duration, String> {
    let Some(text) = value else {
        return Ok(DEFAULT_TIMEOUT);
    };
    let text = text.to_string_lossy();
    match text.trim().parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 86_400.0 => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!(
            "{TIMEOUT_VAR}={text:?} is not a number of seconds in (0, 86400]"
        )),
    }
}

/// The socket libxenstore talks through, identified by inode so a reused descriptor number is
/// never shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Socket {
    pub fd: RawFd,
    ino: u64,
}

impl Socket {
    fn is_still_ours(&self) -> bool {
        inode_of_socket(self.fd) == Some(self.ino)
    }
}

fn inode_of_socket(fd: RawFd) -> Option<u64> {
    // SAFETY: fstat only writes into the zeroed struct we own.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: any descriptor number is acceptable to fstat; a bad one gives EBADF.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return None;
    }
    (st.st_mode & libc::S_IFMT == libc::S_IFSOCK).then_some(st.st_ino)
}

/// The descriptors open in this process (not counting the one that lists them).
pub fn open_fds() -> Vec<RawFd> {
    let listed: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    // The directory's own descriptor is closed by now.
    listed
        .into_iter()
        // SAFETY: F_GETFD only asks whether the descriptor is open.
        .filter(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1)
        .collect()
}

/// The one socket among the descriptors in `after` but not in `before`.
pub fn new_socket(before: &[RawFd], after: &[RawFd]) -> Option<Socket> {
    let mut found = after
        .iter()
        .filter(|fd| !before.contains(fd))
        .filter_map(|&fd| inode_of_socket(fd).map(|ino| Socket { fd, ino }));
    match (found.next(), found.next()) {
        (Some(s), None) => Some(s),
        _ => None,
    }
}

#[derive(Debug, Default)]
struct State {
    /// When the request in flight was sent; `None` when idle.
    busy_since: Option<Instant>,
    /// The socket while libxenstore holds it open.
    socket: Option<Socket>,
    /// The watchdog shut the socket down: the failed request timed out.
    fired: bool,
}

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
    timeout: Duration,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The watchdog of one connection.
pub struct Watchdog {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Watch `socket` (or nothing, if it could not be identified: then waits are unbounded).
    pub fn new(socket: Option<Socket>, timeout: Duration) -> Watchdog {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                socket,
                ..State::default()
            }),
            stop: AtomicBool::new(false),
            timeout,
        });
        let thread = socket.and_then(|_| {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("xlchannel-xs-watchdog".into())
                .spawn(move || watch(&shared))
                .ok()
        });
        Watchdog { shared, thread }
    }

    pub fn timeout(&self) -> Duration {
        self.shared.timeout
    }

    /// A request is about to be sent.
    pub fn begin(&self) {
        self.shared.lock().busy_since = Some(Instant::now());
    }

    /// The request returned. `lost` says libxenstore reported a broken connection (it closes
    /// its descriptor then). Returns whether the watchdog cut the request short.
    pub fn end(&self, lost: bool) -> bool {
        let mut s = self.shared.lock();
        s.busy_since = None;
        if lost || s.fired {
            s.socket = None;
        }
        s.fired
    }

    /// The connection can no longer be used (timed out or lost).
    pub fn dead(&self) -> bool {
        let s = self.shared.lock();
        s.fired || s.socket.is_none()
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

fn watch(shared: &Shared) {
    let period = (shared.timeout / 8).clamp(Duration::from_millis(5), Duration::from_millis(250));
    while !shared.stop.load(Ordering::Acquire) {
        std::thread::park_timeout(period);
        let mut s = shared.lock();
        let overdue = matches!(s.busy_since, Some(t) if t.elapsed() >= shared.timeout);
        if let (true, Some(socket)) = (overdue, s.socket) {
            if socket.is_still_ours() {
                // SAFETY: the descriptor is libxenstore's open socket (same inode); shutting
                // it down only makes its blocked read return, it stays open.
                unsafe { libc::shutdown(socket.fd, libc::SHUT_RDWR) };
            }
            s.fired = true;
            s.socket = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_a_positive_number_of_seconds() {
        use std::ffi::OsStr;
        assert_eq!(parse_timeout(None), Ok(DEFAULT_TIMEOUT));
        assert_eq!(
            parse_timeout(Some(OsStr::new("0.25"))),
            Ok(Duration::from_millis(250))
        );
        assert_eq!(
            parse_timeout(Some(OsStr::new(" 3 "))),
            Ok(Duration::from_secs(3))
        );
        for bad in ["0", "-1", "soon", "", "1e9", "NaN"] {
            assert_eq!(
                parse_timeout(Some(OsStr::new(bad))),
                Err(format!(
                    "XLCHANNEL_XS_TIMEOUT={bad:?} is not a number of seconds in (0, 86400]"
                ))
            );
        }
    }

    #[test]
    fn a_silent_peer_is_cut_off_after_the_limit() {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        use std::os::fd::AsRawFd;
        let fd = ours.as_raw_fd();
        let socket = Socket {
            fd,
            ino: inode_of_socket(fd).unwrap(),
        };
        let dog = Watchdog::new(Some(socket), Duration::from_millis(100));
        dog.begin();
        let started = Instant::now();
        let mut buf = [0u8; 1];
        // SAFETY: reading into a one-byte buffer we own.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), 1) };
        assert_eq!(n, 0, "shutdown makes the blocked read see end of file");
        assert!(dog.end(false));
        assert!(dog.dead());
        assert!(started.elapsed() >= Duration::from_millis(100));
        drop(theirs);
    }
}
