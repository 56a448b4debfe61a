//! xenstored's wire protocol over its Unix socket, for the transactions xlchannel runs
//! itself.
//!
//! libxenstore sends a request and waits for its answer before it sends the next. The
//! daemon reads a connection's requests in order and answers each in order, so requests
//! whose answers nothing waits for (a transaction's writes) can be sent together and their
//! answers read afterwards: a channel's thirty-odd nodes cost one round trip, not one each.
//! The kernel's xenbus device is left to libxenstore.

use super::sys;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// The message header: type, request id, transaction id, payload length (native endian).
const HEADER: usize = 16;
pub const MAX_PAYLOAD: usize = sys::XENSTORE_PAYLOAD_MAX as usize;

/// Request types, as `xs_wire.h` numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Directory,
    DirectoryPart,
    Read,
    GetPerms,
    TransactionStart,
    TransactionEnd,
    Write,
    Mkdir,
    Rm,
    SetPerms,
}

impl Kind {
    fn code(self) -> u32 {
        match self {
            Kind::Directory => sys::xsd_sockmsg_type_XS_DIRECTORY,
            Kind::DirectoryPart => sys::xsd_sockmsg_type_XS_DIRECTORY_PART,
            Kind::Read => sys::xsd_sockmsg_type_XS_READ,
            Kind::GetPerms => sys::xsd_sockmsg_type_XS_GET_PERMS,
            Kind::TransactionStart => sys::xsd_sockmsg_type_XS_TRANSACTION_START,
            Kind::TransactionEnd => sys::xsd_sockmsg_type_XS_TRANSACTION_END,
            Kind::Write => sys::xsd_sockmsg_type_XS_WRITE,
            Kind::Mkdir => sys::xsd_sockmsg_type_XS_MKDIR,
            Kind::Rm => sys::xsd_sockmsg_type_XS_RM,
            Kind::SetPerms => sys::xsd_sockmsg_type_XS_SET_PERMS,
        }
    }
}

/// Why a request got no answer.
#[derive(Debug)]
pub enum Failure {
    /// The daemon refused this request (its `XS_ERROR` answer, as an errno); the
    /// connection is still good.
    Refused(i32),
    /// The connection is unusable: lost, timed out (`io::ErrorKind::WouldBlock` or
    /// `TimedOut`), or answered out of protocol.
    Broken(io::Error),
}

impl Failure {
    pub fn errno(&self) -> i32 {
        match self {
            Failure::Refused(e) => *e,
            Failure::Broken(e) => e.raw_os_error().unwrap_or(match e.kind() {
                io::ErrorKind::InvalidData => libc::EPROTO,
                _ => libc::ECONNRESET,
            }),
        }
    }

    pub fn timed_out(&self) -> bool {
        matches!(self, Failure::Broken(e)
            if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
    }
}

/// The errno an `XS_ERROR` answer names (the table of `xs_wire.h`); an unknown name is EINVAL,
/// as libxenstore reads it.
fn errno_named(name: &[u8]) -> i32 {
    const NAMES: [(&[u8], i32); 16] = [
        (b"EINVAL", libc::EINVAL),
        (b"EACCES", libc::EACCES),
        (b"EEXIST", libc::EEXIST),
        (b"EISDIR", libc::EISDIR),
        (b"ENOENT", libc::ENOENT),
        (b"ENOMEM", libc::ENOMEM),
        (b"ENOSPC", libc::ENOSPC),
        (b"EIO", libc::EIO),
        (b"ENOTEMPTY", libc::ENOTEMPTY),
        (b"ENOSYS", libc::ENOSYS),
        (b"EROFS", libc::EROFS),
        (b"EBUSY", libc::EBUSY),
        (b"EAGAIN", libc::EAGAIN),
        (b"EISCONN", libc::EISCONN),
        (b"E2BIG", libc::E2BIG),
        (b"EPERM", libc::EPERM),
    ];
    let name = name.split(|&b| b == 0).next().unwrap_or_default();
    NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(libc::EINVAL, |&(_, e)| e)
}

fn protocol_error(what: &str) -> Failure {
    Failure::Broken(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("xenstored answered out of protocol ({what})"),
    ))
}

/// One connection to the daemon's socket.
pub struct Wire {
    stream: UnixStream,
    next_id: u32,
    /// Requests encoded but not yet sent.
    outgoing: Vec<u8>,
    /// Ids of the requests sent whose answers are not read yet, oldest first.
    awaited: std::collections::VecDeque<u32>,
    incoming: Vec<u8>,
    timeout: Duration,
}

impl Wire {
    /// Connect to the socket at `path`; every later send or receive waits at most `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> io::Result<Wire> {
        Wire::over(UnixStream::connect(path)?, timeout)
    }

    fn over(stream: UnixStream, timeout: Duration) -> io::Result<Wire> {
        stream.set_write_timeout(Some(timeout))?;
        Ok(Wire {
            stream,
            next_id: 1,
            outgoing: Vec::new(),
            awaited: Default::default(),
            incoming: Vec::new(),
            timeout,
        })
    }

    /// Encode one request (its payload is `parts` joined) for the next [`Wire::flush`]. A
    /// payload the daemon would refuse to read is refused here (E2BIG, as libxenstore does),
    /// before anything is sent.
    pub fn queue(&mut self, kind: Kind, tx: u32, parts: &[&[u8]]) -> Result<(), Failure> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len > MAX_PAYLOAD {
            return Err(Failure::Refused(libc::E2BIG));
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        for word in [kind.code(), id, tx, len as u32] {
            self.outgoing.extend_from_slice(&word.to_ne_bytes());
        }
        for part in parts {
            self.outgoing.extend_from_slice(part);
        }
        self.awaited.push_back(id);
        Ok(())
    }

    /// Send what is queued. `MSG_NOSIGNAL`: a daemon gone is an error, not SIGPIPE in a
    /// process that did not ask for it.
    pub fn flush(&mut self) -> Result<(), Failure> {
        let mut sent = 0;
        while sent < self.outgoing.len() {
            let rest = &self.outgoing[sent..];
            // SAFETY: a live socket and `rest.len()` readable bytes.
            let n = unsafe {
                libc::send(
                    self.stream.as_raw_fd(),
                    rest.as_ptr().cast(),
                    rest.len(),
                    libc::MSG_NOSIGNAL,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Failure::Broken(e));
            }
            sent += n as usize;
        }
        self.outgoing.clear();
        Ok(())
    }

    /// The answer to the oldest request still unanswered (sending what is queued first),
    /// waiting at most the timeout for it.
    pub fn answer(&mut self) -> Result<Vec<u8>, Failure> {
        self.flush()?;
        let deadline = Instant::now() + self.timeout;
        let Some(id) = self.awaited.pop_front() else {
            return Err(protocol_error("an answer read with no request in flight"));
        };
        loop {
            if let Some((kind, req, body)) = self.take_message()? {
                if kind == sys::xsd_sockmsg_type_XS_WATCH_EVENT {
                    continue; // no watch is set on this connection; ignored if one comes
                }
                if req != id {
                    return Err(protocol_error("answers out of order"));
                }
                return if kind == sys::xsd_sockmsg_type_XS_ERROR {
                    Err(Failure::Refused(errno_named(&body)))
                } else {
                    Ok(body)
                };
            }
            self.fill(deadline)?;
        }
    }

    /// One whole message from what has been received, if there is one.
    fn take_message(&mut self) -> Result<Option<(u32, u32, Vec<u8>)>, Failure> {
        if self.incoming.len() < HEADER {
            return Ok(None);
        }
        let word = |i: usize| {
            u32::from_ne_bytes(self.incoming[4 * i..4 * i + 4].try_into().expect("4 bytes"))
        };
        let (kind, req, len) = (word(0), word(1), word(3) as usize);
        if len > MAX_PAYLOAD {
            return Err(protocol_error("an answer longer than a message may be"));
        }
        if self.incoming.len() < HEADER + len {
            return Ok(None);
        }
        let body = self.incoming[HEADER..HEADER + len].to_vec();
        self.incoming.drain(..HEADER + len);
        Ok(Some((kind, req, body)))
    }

    /// Wait for more of the answers (until `deadline`) and take what has come. poll(2)
    /// for input only, then a read that does not block: a reader blocked in read(2) is
    /// woken each time the daemon takes in one of our requests as well.
    fn fill(&mut self, deadline: Instant) -> Result<(), Failure> {
        let fd = self.stream.as_raw_fd();
        let mut ready = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // Rounded up, so a wait never ends just before the answer is due.
            let limit = left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
            // SAFETY: one pollfd we own.
            match unsafe { libc::poll(&mut ready, 1, limit) } {
                0 => return Err(Failure::Broken(io::Error::from(io::ErrorKind::TimedOut))),
                n if n < 0 => {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    return Err(Failure::Broken(e));
                }
                _ => {}
            }
            let mut chunk = [0u8; 16 * 1024];
            // SAFETY: a live socket and a buffer of `chunk.len()` writable bytes.
            let n = unsafe {
                libc::recv(fd, chunk.as_mut_ptr().cast(), chunk.len(), libc::MSG_DONTWAIT)
            };
            match n {
                0 => return Err(Failure::Broken(io::Error::from_raw_os_error(libc::ECONNRESET))),
                n if n > 0 => {
                    self.incoming.extend_from_slice(&chunk[..n as usize]);
                    return Ok(());
                }
                _ => {
                    let e = io::Error::last_os_error();
                    if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock) {
                        continue;
                    }
                    return Err(Failure::Broken(e));
                }
            }
        }
    }
}

/// A permission list as `XS_SET_PERMS` carries it: one NUL-terminated entry per domain, a
/// letter for the access and the domid.
pub fn perms_payload(perms: &[super::Perm]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in perms {
        let letter = match p.access {
            super::Access::None => 'n',
            super::Access::Read => 'r',
            super::Access::Write => 'w',
            super::Access::Both => 'b',
        };
        out.extend_from_slice(format!("{letter}{}\0", p.domid).as_bytes());
    }
    out
}

/// A permission list as `XS_GET_PERMS` answers it (entries it cannot read are skipped).
pub fn parse_perms(body: &[u8]) -> Vec<super::Perm> {
    body.split(|&b| b == 0)
        .filter_map(|entry| {
            let (&letter, domid) = entry.split_first()?;
            let access = match letter {
                b'n' => super::Access::None,
                b'r' => super::Access::Read,
                b'w' => super::Access::Write,
                b'b' => super::Access::Both,
                _ => return None,
            };
            let domid = std::str::from_utf8(domid).ok()?.parse().ok()?;
            Some(super::Perm::new(domid, access))
        })
        .collect()
}

/// The id a `XS_TRANSACTION_START` answer carries, in decimal.
pub fn transaction_id(body: &[u8]) -> Result<u32, Failure> {
    let digits = body.split(|&b| b == 0).next().unwrap_or_default();
    std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .filter(|&id| id != 0)
        .ok_or_else(|| protocol_error("a transaction id that is not a number"))
}

/// One `XS_DIRECTORY_PART` answer: the directory's generation, the names it carries (each
/// NUL-terminated), and whether it is the last (an empty string closes the list).
pub fn directory_part(body: &[u8]) -> Result<(&[u8], &[u8], bool), Failure> {
    let at = body
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| protocol_error("a directory part without its generation"))?;
    let (generation, names) = (&body[..at], &body[at + 1..]);
    let last = names.len() <= 1 || names.ends_with(b"\0\0");
    Ok((generation, names, last))
}

/// The names of a `XS_DIRECTORY` answer: NUL-terminated, in the daemon's order.
pub fn directory_names(body: &[u8]) -> Vec<String> {
    body.split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xenstore::{Access, Perm};

    #[test]
    fn error_answers_name_their_errno() {
        assert_eq!(errno_named(b"EAGAIN\0"), libc::EAGAIN);
        assert_eq!(errno_named(b"ENOENT\0"), libc::ENOENT);
        assert_eq!(errno_named(b"E2BIG"), libc::E2BIG);
        assert_eq!(errno_named(b"EWHATEVER\0"), libc::EINVAL);
        assert_eq!(errno_named(b""), libc::EINVAL);
    }

    #[test]
    fn permissions_are_letters_and_domids() {
        let perms = [Perm::new(0, Access::None), Perm::new(7, Access::Read), Perm::new(9, Access::Both)];
        assert_eq!(perms_payload(&perms), b"n0\0r7\0b9\0");
        assert_eq!(parse_perms(b"n0\0r7\0b9\0"), perms);
        assert_eq!(parse_perms(b"w3\0x4\0r\0"), [Perm::new(3, Access::Write)]);
    }

    #[test]
    fn transaction_ids_are_decimal() {
        assert_eq!(transaction_id(b"17\0").unwrap(), 17);
        assert!(transaction_id(b"0\0").is_err());
        assert!(transaction_id(b"x\0").is_err());
    }

    #[test]
    fn directory_parts_carry_a_generation_and_end_with_an_empty_name() {
        assert_eq!(directory_part(b"17\0a\0bc\0").unwrap(), (&b"17"[..], &b"a\0bc\0"[..], false));
        assert_eq!(directory_part(b"17\0d\0\0").unwrap(), (&b"17"[..], &b"d\0\0"[..], true));
        assert_eq!(directory_part(b"17\0\0").unwrap(), (&b"17"[..], &b"\0"[..], true));
        assert!(directory_part(b"17").is_err());
    }

    #[test]
    fn directory_answers_split_at_nuls() {
        assert_eq!(directory_names(b"1\0abc\0"), ["1", "abc"]);
        assert!(directory_names(b"").is_empty());
    }

    #[test]
    fn requests_are_framed_in_order_and_oversized_ones_refused() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let mut w = Wire::over(ours, Duration::from_secs(5)).unwrap();
        w.queue(Kind::Write, 5, &[b"/a\0", b"xy"]).unwrap();
        w.queue(Kind::Read, 5, &[b"/a\0"]).unwrap();
        let big = vec![b'x'; MAX_PAYLOAD + 1];
        assert!(matches!(w.queue(Kind::Write, 5, &[&big]), Err(Failure::Refused(libc::E2BIG))));
        assert_eq!(w.awaited.len(), 2);
        w.flush().unwrap();
        let mut got = vec![0u8; 2 * HEADER + 5 + 3];
        io::Read::read_exact(&mut &theirs, &mut got).unwrap();
        let word = |b: &[u8], i: usize| u32::from_ne_bytes(b[4 * i..4 * i + 4].try_into().unwrap());
        assert_eq!([word(&got, 0), word(&got, 1), word(&got, 2), word(&got, 3)], [Kind::Write.code(), 1, 5, 5]);
        assert_eq!(&got[HEADER..HEADER + 5], b"/a\0xy");
        let second = &got[HEADER + 5..];
        assert_eq!([word(second, 0), word(second, 1), word(second, 3)], [Kind::Read.code(), 2, 3]);

        // Answers: an error for the write, a value for the read, split across sends.
        let mut reply = Vec::new();
        for (kind, id, body) in [(sys::xsd_sockmsg_type_XS_ERROR, 1u32, &b"EACCES\0"[..]), (Kind::Read.code(), 2, b"xy")] {
            for word in [kind, id, 5, body.len() as u32] {
                reply.extend_from_slice(&word.to_ne_bytes());
            }
            reply.extend_from_slice(body);
        }
        io::Write::write_all(&mut &theirs, &reply[..7]).unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            io::Write::write_all(&mut &theirs, &reply[7..]).unwrap();
            theirs
        });
        assert!(matches!(w.answer(), Err(Failure::Refused(libc::EACCES))));
        assert_eq!(w.answer().unwrap(), b"xy");
        let theirs = writer.join().unwrap();
        drop(theirs);
        w.queue(Kind::Read, 0, &[b"/b\0"]).unwrap();
        let lost = w.answer().unwrap_err();
        assert!(matches!(lost, Failure::Broken(_)), "{lost:?}");
        assert!(!lost.timed_out());
    }

    #[test]
    fn a_silent_daemon_times_out() {
        let (ours, _theirs) = UnixStream::pair().unwrap();
        let mut w = Wire::over(ours, Duration::from_millis(30)).unwrap();
        w.queue(Kind::TransactionStart, 0, &[b"\0"]).unwrap();
        let silent = w.answer().unwrap_err();
        assert!(silent.timed_out(), "{silent:?}");
    }
}
