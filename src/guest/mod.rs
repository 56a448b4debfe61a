//! The guest side of channels: inside a guest, each channel is a Xen PV console `hvc<N>`
//! whose xenstore frontend (`device/console/<N>`, relative to the guest's own domain) holds
//! the channel's `name`. A udev rule runs `xlchannel-guest` when a console device comes and
//! goes; it links `/dev/xen-channel/<name>` to `../hvc<N>` (see
//! [`link`]), and an in-guest agent waits for that link and opens it
//! (see [`open`]).
//!
//! The name is written by dom0's toolstack, but it becomes a file name in the guest's `/dev`:
//! only a name that is one safe path component is used
//! ([`check_name`]).

pub mod link;
pub mod open;

pub use link::{link_console, unlink_console, Linked};
pub use open::{open_channel, open_channel_in};

use crate::error::code;
use crate::ffi::types::libxl_error;
use std::fmt;

/// Where udev creates device nodes, and so where the links go.
pub const DEFAULT_DEV_DIR: &str = "/dev";
/// The directory under the dev dir that holds one link per named channel.
pub const CHANNEL_DIR: &str = "xen-channel";
/// Longest file name Linux accepts (`NAME_MAX`).
pub const NAME_MAX: usize = 255;

/// A failure of the guest-side operations, with the `libxl_error` the C API returns for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestError {
    /// A DEVPATH that is not `/devices/console-<N>`.
    BadDevpath(String),
    /// A channel name that is not one safe path component.
    UnsafeName(String),
    /// Reading the console's name from xenstore failed.
    Store(String),
    /// A file system operation failed.
    Io(String),
    /// The channel's link did not appear (and open) in time.
    TimedOut(String),
}

impl fmt::Display for GuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (GuestError::BadDevpath(m)
        | GuestError::UnsafeName(m)
        | GuestError::Store(m)
        | GuestError::Io(m)
        | GuestError::TimedOut(m)) = self;
        f.write_str(m)
    }
}

impl std::error::Error for GuestError {}

impl GuestError {
    /// The `libxl_error` code C callers receive.
    pub fn code(&self) -> i32 {
        match self {
            GuestError::BadDevpath(_) | GuestError::UnsafeName(_) => code::ERROR_INVAL,
            GuestError::Store(_) | GuestError::Io(_) => code::ERROR_FAIL,
            GuestError::TimedOut(_) => libxl_error::ERROR_TIMEDOUT as i32,
        }
    }
}

/// The console number of a udev DEVPATH, `/devices/console-<N>` (N in decimal, as the
/// kernel's xenbus names it: no sign, no leading zero).
pub fn console_from_devpath(devpath: &[u8]) -> Result<u32, GuestError> {
    let bad = |why: &str| {
        GuestError::BadDevpath(format!(
            "DEVPATH \"{}\" {why}; expected /devices/console-<N>",
            devpath.escape_ascii()
        ))
    };
    let digits = devpath
        .strip_prefix(b"/devices/console-")
        .ok_or_else(|| bad("is not a Xen console device"))?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad("does not end in a console number"));
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return Err(bad("has a console number with a leading zero"));
    }
    std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| bad("has a console number out of range"))
}

/// Why a channel name cannot be a file name in `/dev/xen-channel`, or `Ok` for a name that
/// is one safe path component: not empty, not `.` or `..`, no `/`, no NUL or other control
/// byte (C0 or DEL), at most [`NAME_MAX`] bytes. Other bytes (UTF-8 or not) are allowed.
pub fn check_name(name: &[u8]) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name == b"." || name == b".." {
        return Err(format!("'{}' is not a file name", name.escape_ascii()));
    }
    if name.len() > NAME_MAX {
        return Err(format!(
            "it is {} bytes long; a file name has at most {NAME_MAX}",
            name.len()
        ));
    }
    if name.contains(&b'/') {
        return Err("it contains '/'".into());
    }
    if let Some(&b) = name.iter().find(|&&b| b < 0x20 || b == 0x7f) {
        return Err(if b == 0 {
            "it contains a NUL byte".into()
        } else {
            format!("it contains the control byte 0x{b:02x}")
        });
    }
    Ok(())
}

/// [`check_name`] as the error the operations return: names the console (when known) and
/// shows the name with unprintable bytes escaped.
pub(crate) fn checked_name(name: &[u8], console: Option<u32>) -> Result<(), GuestError> {
    check_name(name).map_err(|why| {
        let at = console.map_or(String::new(), |n| format!("console {n}: "));
        GuestError::UnsafeName(format!(
            "{at}refusing channel name \"{}\": {why}",
            name.escape_ascii()
        ))
    })
}

/// The link's target: relative, so the link is right wherever the dev dir is mounted.
pub fn link_target(console: u32) -> String {
    format!("../hvc{console}")
}

/// The guest's own (relative) xenstore path of console `console`'s channel name.
pub fn name_path(console: u32) -> String {
    format!("device/console/{console}/name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devpaths() {
        assert_eq!(console_from_devpath(b"/devices/console-1"), Ok(1));
        assert_eq!(console_from_devpath(b"/devices/console-0"), Ok(0));
        assert_eq!(
            console_from_devpath(b"/devices/console-4294967295"),
            Ok(u32::MAX)
        );
        let err = |d: &[u8]| console_from_devpath(d).unwrap_err().to_string();
        assert_eq!(
            err(b"/devices/vif-1"),
            "DEVPATH \"/devices/vif-1\" is not a Xen console device; expected /devices/console-<N>"
        );
        for d in [
            &b"/devices/console-"[..],
            b"/devices/console-1a",
            b"/devices/console--1",
            b"/devices/console-+1",
            b"/devices/console-1/x",
        ] {
            assert!(err(d).contains("does not end in a console number"), "{d:?}");
        }
        assert!(err(b"/devices/console-01").contains("leading zero"));
        assert!(err(b"/devices/console-4294967296").contains("out of range"));
        assert!(err(b"/devices/console-\xff").contains("\\xff"));
    }

    #[test]
    fn names() {
        for ok in [
            &b"org.my.cloud.software.agent.version1"[..],
            b"a",
            b"...",
            b"caf\xc3\xa9",
            b"\xff",
            b"with space",
            &[b'n'; 255],
        ] {
            assert_eq!(check_name(ok), Ok(()), "{ok:?}");
        }
        let why = |n: &[u8]| check_name(n).unwrap_err();
        assert_eq!(why(b""), "it is empty");
        assert_eq!(why(b"."), "'.' is not a file name");
        assert_eq!(why(b".."), "'..' is not a file name");
        assert_eq!(why(b"a/b"), "it contains '/'");
        assert_eq!(why(b"/"), "it contains '/'");
        assert_eq!(why(b"a\0b"), "it contains a NUL byte");
        assert_eq!(why(b"a\nb"), "it contains the control byte 0x0a");
        assert_eq!(why(b"\x7f"), "it contains the control byte 0x7f");
        assert_eq!(
            why(&[b'n'; 256]),
            "it is 256 bytes long; a file name has at most 255"
        );
        assert_eq!(
            checked_name(b"../x\x1b", Some(3)).unwrap_err().to_string(),
            "console 3: refusing channel name \"../x\\x1b\": it contains '/'"
        );
    }
}
