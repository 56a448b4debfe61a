//! The guest side for C agents: open a channel by name once the guest helper has linked it.

use super::boundary::ffi_boundary;
use super::types::*;
use crate::error::code;
use crate::guest;
use crate::log::{log_to, Level, Logger, Site};
use crate::site;
use libc::{c_char, c_int, c_uint};
use std::ffi::{CStr, OsStr};
use std::os::fd::IntoRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The stderr logger for callers that pass none, made once and kept for the process: this
/// call has no context to own one, and a logger made per call would cost a descriptor each
/// time (xentoollog's stdio logger does not close its stream).
struct StderrLogger(Logger);

// SAFETY: the logger is only used under the mutex below, one thread at a time; xentoollog's
// stdio logger keeps no thread-bound state.
unsafe impl Send for StderrLogger {}

fn log_error(lg: *mut xentoollog_logger, site: Site, message: &str) {
    if !lg.is_null() {
        // SAFETY: a non-NULL logger is live, per the contract.
        unsafe { log_to(lg, Level::Error, -1, site, None, message) };
        return;
    }
    static STDERR: OnceLock<Option<Mutex<StderrLogger>>> = OnceLock::new();
    let stderr = STDERR
        .get_or_init(|| Logger::new(std::ptr::null_mut()).map(|l| Mutex::new(StderrLogger(l))));
    if let Some(logger) = stderr {
        let logger = logger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        logger.0.log(Level::Error, -1, site, None, message);
    }
}

/// Inside a guest: wait up to `timeout_ms` milliseconds for the channel `name` to appear as
/// `<dev_dir>/xen-channel/<name>` (made by `xlchannel-guest` from its udev rule when the
/// channel's console arrives; inotify, no polling) and open it for reading and writing
/// (`O_RDWR | O_NOCTTY | O_CLOEXEC`). `dev_dir` NULL means `/dev`. A `timeout_ms` of 0 tries
/// once.
///
/// Needs no context and no xenstore: errors are logged through `lg` like libxl's (NULL: to
/// stderr, warnings and errors). Returns 0 with the new descriptor in `*fd_r` (the caller
/// closes it), or with `*fd_r` = -1: ERROR_INVAL for NULL `name` or `fd_r`, or a name that is
/// not one safe file name (empty, `.`, `..`, a `/`, a control byte, over 255 bytes);
/// ERROR_TIMEDOUT when the channel did not appear in time; ERROR_FAIL when `dev_dir` does
/// not exist, inotify fails, or the open fails other than for a missing file.
///
/// # Safety
/// `lg` is NULL or a live logger; `name` and `dev_dir` are NULL or C strings; `fd_r` is NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn xlchannel_guest_open_channel(
    lg: *mut xentoollog_logger,
    name: *const c_char,
    dev_dir: *const c_char,
    timeout_ms: c_uint,
    fd_r: *mut c_int,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        let site = site!("xlchannel_guest_open_channel");
        // SAFETY: NULL or writable, per the contract.
        let Some(out) = (unsafe { fd_r.as_mut() }) else {
            log_error(lg, site, "NULL fd_r passed");
            return code::ERROR_INVAL;
        };
        *out = -1;
        if name.is_null() {
            log_error(lg, site, "NULL name passed");
            return code::ERROR_INVAL;
        }
        // SAFETY: a non-NULL C string, per the contract.
        let name = unsafe { CStr::from_ptr(name) }.to_bytes();
        let dev_dir = if dev_dir.is_null() {
            Path::new(guest::DEFAULT_DEV_DIR)
        } else {
            // SAFETY: as above.
            Path::new(OsStr::from_bytes(
                unsafe { CStr::from_ptr(dev_dir) }.to_bytes(),
            ))
        };
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        match guest::open_channel_in(dev_dir, name, timeout) {
            Ok(file) => {
                *out = file.into_raw_fd();
                0
            }
            Err(e) => {
                log_error(lg, site, &e.to_string());
                e.code()
            }
        }
    })
}
