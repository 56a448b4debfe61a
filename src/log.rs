//! Logging through the caller's `xentoollog_logger`, in libxl's message shape:
//! context `libxl`, text `FILE:LINE:FUNC: [Domain N:]MESSAGE`.

use crate::ffi::types::xentoollog_logger;
use libc::{c_char, c_int, c_uint};
use std::ffi::{CStr, CString};
use std::ptr::NonNull;

/// `xentoollog_level` values from `<xentoollog.h>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 1,
    Verbose = 2,
    Detail = 3,
    Progress = 4,
    Info = 5,
    Notice = 6,
    Warn = 7,
    Error = 8,
    Critical = 9,
}

extern "C" {
    fn xtl_log(
        logger: *mut xentoollog_logger,
        level: c_int,
        errnoval: c_int,
        context: *const c_char,
        format: *const c_char,
        ...
    );
    fn xtl_createlogger_stdiostream(
        f: *mut libc::FILE,
        min_level: c_int,
        flags: c_uint,
    ) -> *mut xentoollog_logger;
    fn xtl_logger_destroy(logger: *mut xentoollog_logger);
}

/// Domids at or above this are reserved; libxl names no domain for them (or for dom0).
const DOMID_FIRST_RESERVED: u32 = 0x7ff0;

/// Where a message comes from, as libxl prints it.
#[derive(Debug, Clone, Copy)]
pub struct Site {
    pub file: &'static str,
    pub line: u32,
    pub func: &'static str,
}

/// A `Site` for the calling function of the C API.
#[macro_export]
macro_rules! site {
    ($func:expr) => {
        $crate::log::Site {
            file: file!(),
            line: line!(),
            func: $func,
        }
    };
}

pub struct Logger {
    raw: NonNull<xentoollog_logger>,
    /// We created it (the caller passed none) and must destroy it.
    owned: bool,
}

impl Logger {
    /// Wrap the caller's logger, or when there is none create one on stderr that shows
    /// warnings and errors.
    pub fn new(caller: *mut xentoollog_logger) -> Option<Logger> {
        if let Some(raw) = NonNull::new(caller) {
            return Some(Logger { raw, owned: false });
        }
        // SAFETY: fd 2 stays open for the process; the stream is never closed by us because
        // closing it would close stderr.
        let stream = unsafe { libc::fdopen(libc::dup(2), c"w".as_ptr()) };
        if stream.is_null() {
            return None;
        }
        // SAFETY: `stream` is a valid FILE*; xentoollog takes no ownership of it.
        let raw = unsafe { xtl_createlogger_stdiostream(stream, Level::Warn as c_int, 0) };
        NonNull::new(raw).map(|raw| Logger { raw, owned: true })
    }

    /// A logger the caller owns and keeps alive; `None` for NULL.
    pub fn borrowed(caller: *mut xentoollog_logger) -> Option<Logger> {
        NonNull::new(caller).map(|raw| Logger { raw, owned: false })
    }

    pub fn raw(&self) -> *mut xentoollog_logger {
        self.raw.as_ptr()
    }

    /// Log `text` as it is, under `context` and without libxl's `file:line:func:` prefix:
    /// for another program's messages reproduced word for word (xl's, context `xl`).
    pub fn log_text(&self, level: Level, context: &CStr, text: &[u8]) {
        // A NUL would cut the message short in C; messages passed here hold none.
        let text = CString::new(text.split(|&b| b == 0).next().unwrap_or_default())
            .expect("cut at the first NUL");
        // SAFETY: as in `log`; the format consumes exactly one string argument.
        unsafe {
            xtl_log(
                self.raw.as_ptr(),
                level as c_int,
                -1,
                context.as_ptr(),
                c"%s".as_ptr(),
                text.as_ptr(),
            )
        }
    }

    /// Log one message. `errnoval` is an errno to append, or -1 for none.
    pub fn log(&self, level: Level, errnoval: i32, site: Site, domid: Option<u32>, message: &str) {
        // SAFETY: the caller's logger outlives the context; an owned one lives as long as self.
        unsafe { log_to(self.raw.as_ptr(), level, errnoval, site, domid, message) }
    }
}

impl Drop for Logger {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: created by xtl_createlogger_stdiostream in `new` and destroyed once.
            unsafe { xtl_logger_destroy(self.raw.as_ptr()) }
        }
    }
}

/// Log through any logger pointer (NULL drops the message).
///
/// # Safety
/// `logger` is NULL or a live `xentoollog_logger`.
pub unsafe fn log_to(
    logger: *mut xentoollog_logger,
    level: Level,
    errnoval: i32,
    site: Site,
    domid: Option<u32>,
    message: &str,
) {
    if logger.is_null() {
        return;
    }
    let file = site.file.rsplit('/').next().unwrap_or(site.file);
    let domain = match domid {
        Some(d) if d != 0 && d < DOMID_FIRST_RESERVED => format!("Domain {d}:"),
        _ => String::new(),
    };
    let text = format!("{file}:{}:{}: {domain}{message}", site.line, site.func);
    // A NUL inside a message would cut it short in C; show it instead.
    let text = CString::new(text.replace('\0', "\\0")).expect("NULs were replaced");
    // The format consumes exactly one string argument.
    xtl_log(
        logger,
        level as c_int,
        errnoval,
        c"libxl".as_ptr(),
        c"%s".as_ptr(),
        text.as_ptr(),
    )
}
