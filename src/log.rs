//! Logging through the caller's `xentoollog_logger`, in libxl's message shape:
//! context `libxl`, text `FILE:LINE:FUNC: [Domain N:]MESSAGE`.
//!
//! `FUNC` is the C function the caller called. `FILE` is the libxl 4.17 source file that holds
//! that function, or for xlchannel's additions the one that holds their libxl counterpart
//! ([`libxl_source_file`]), so a line reads as libxl's would and log filters written for libxl
//! keep working. `LINE` is the line in xlchannel's own source that raised the message (libxl
//! has no line for it); with `FUNC` and the message it finds the spot in `src/ffi`.

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

// libxentoollog's own functions: not part of our header.
#[allow(unused_doc_comments)]
/// cbindgen:ignore
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

/// A `Site` for the calling function of the C API, `$func` being its C name.
#[macro_export]
macro_rules! site {
    ($func:expr) => {
        $crate::log::Site {
            file: $crate::log::libxl_source_file($func),
            line: line!(),
            func: $func,
        }
    };
}

/// The libxl 4.17 source file that holds the C function `func` (or its libxl counterpart,
/// for xlchannel's additions): what a libxl user sees in libxl's own log lines.
pub fn libxl_source_file(func: &str) -> &'static str {
    const IDL_HELPERS: [&str; 8] = [
        "_init",
        "_init_connection",
        "_dispose",
        "_copy",
        "_to_json",
        "_from_json",
        "_to_string",
        "_from_string",
    ];
    match func {
        "libxl_ctx_alloc" | "libxl_ctx_free" => "libxl.c",
        // gentypes.py generates the IDL types' helpers into _libxl_types.c.
        f if f.starts_with("libxl_") && IDL_HELPERS.iter().any(|h| f.ends_with(h)) => {
            "_libxl_types.c"
        }
        // Whether a qemu is needed and its arguments: libxl__need_xenpv_qemu and the
        // -chardev arguments live in libxl_dm.c.
        f if f.starts_with("xlchannel_need_xenpv_qemu") || f.starts_with("xlchannel_dm_") => {
            "libxl_dm.c"
        }
        // xl's reading of a config's channel list is in xl_parse.c.
        "xlchannel_config_channels" | "xlchannel_channel_parse_spec" => "xl_parse.c",
        // The guest side has no libxl counterpart (it runs in the guest): its own file.
        f if f.starts_with("xlchannel_guest_") => "src/ffi/guest.rs",
        // The channel operations (add, list, getinfo, the embedding API) and anything
        // else: libxl keeps its channel code in libxl_console.c.
        _ => "libxl_console.c",
    }
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
    let domain = match domid {
        Some(d) if d != 0 && d < DOMID_FIRST_RESERVED => format!("Domain {d}:"),
        _ => String::new(),
    };
    let text = format!(
        "{}:{}:{}: {domain}{message}",
        site.file, site.line, site.func
    );
    // A NUL inside a message would cut it short in C; show it instead.
    let text = CString::new(text.replace('\0', "\\0")).expect("NULs were replaced");
    // SAFETY: `logger` is a live logger (this function's contract); the format consumes
    // exactly one string argument.
    unsafe {
        xtl_log(
            logger,
            level as c_int,
            errnoval,
            c"libxl".as_ptr(),
            c"%s".as_ptr(),
            text.as_ptr(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::libxl_source_file;

    #[test]
    fn messages_name_the_libxl_file_of_the_called_function() {
        for (func, file) in [
            ("libxl_ctx_alloc", "libxl.c"),
            ("libxl_device_channel_add", "libxl_console.c"),
            ("libxl_device_channel_list", "libxl_console.c"),
            ("libxl_device_channel_getinfo", "libxl_console.c"),
            ("libxl_device_channel_copy", "_libxl_types.c"),
            ("libxl_device_channel_from_json", "_libxl_types.c"),
            ("libxl_channelinfo_to_json", "_libxl_types.c"),
            ("libxl_channel_connection_from_json", "_libxl_types.c"),
            ("xlchannel_need_xenpv_qemu_config", "libxl_dm.c"),
            ("xlchannel_dm_chardev_args", "libxl_dm.c"),
            ("xlchannel_config_channels", "xl_parse.c"),
            ("xlchannel_channel_parse_spec", "xl_parse.c"),
            ("xlchannel_xs_channel_add", "libxl_console.c"),
            ("xlchannel_guest_open_channel", "src/ffi/guest.rs"),
        ] {
            assert_eq!(libxl_source_file(func), file, "{func}");
        }
        let site = crate::site!("libxl_device_channel_add");
        assert_eq!(
            (site.file, site.func),
            ("libxl_console.c", "libxl_device_channel_add")
        );
    }
}
