//! The xl configuration reader for C: a config file's channels, or one channel SPEC, read
//! as xl 4.17 reads them, with xl's own messages passed to the context's logger.

use super::boundary::ffi_boundary;
use super::device_ops::malloc_list;
use super::idl::{self, log_error, IdlStruct};
use super::types::*;
use crate::error::{code, Error};
use crate::log::Level;
use crate::site;
use crate::xlcfg::{self, Diagnostic, XlFatal};
use crate::Context;
use libc::{c_char, c_int};
use std::ffi::CStr;
use std::ptr;

// The header's constant (a literal there, for cbindgen) is xl's status.
const _: () = assert!(XLCHANNEL_XL_EXIT_FAILURE == xlcfg::XL_FATAL_EXIT_STATUS);

/// xl's messages go to the logger one line per message, word for word, under context `xl`.
fn log_lines(ctx: &Context, level: Level, lines: &[Diagnostic]) {
    for line in lines {
        ctx.logger().log_text(level, c"xl", line.as_bytes());
    }
}

/// Log what xl prints before it exits; the `libxl_error` for it.
fn log_fatal(ctx: &Context, fatal: XlFatal) -> c_int {
    log_lines(ctx, Level::Warn, &fatal.warnings);
    log_lines(ctx, Level::Error, &fatal.error.lines());
    Error::from(fatal).code()
}

/// Read the channels of an xl domain configuration file (`len` bytes at `data`; NUL bytes
/// and any encoding are read as xl reads them) exactly as `xl create` 4.17 does: libxlutil's
/// syntax and the `channel = [ "SPEC", ... ]` rules. `source_name` names the file in
/// messages (xl uses the path given on its command line).
///
/// Every message xl would print is logged through the context's logger, one line per message
/// with xl's exact text, context `"xl"` and no libxl prefix: warnings (an unknown channel key,
/// `channel` given as a single string) at XTL_WARN, the messages that make xl stop at
/// XTL_ERROR.
///
/// On success returns 0, `*channels_r` is a `malloc`'d array of `*num_r` initialised
/// channels in config order (NULL with 0 when the config has none), each with devid -1 so
/// that domain creation makes channel i console i+1 (xl 4.17 gives it devid i, which
/// collides with the primary console). Free it with `libxl_device_channel_list_free`.
///
/// Where xl would exit (with status `XLCHANNEL_XL_EXIT_FAILURE`), returns ERROR_FAIL for a
/// file libxlutil cannot parse and ERROR_INVAL for a channel SPEC xl refuses; where xl 4.17
/// crashes (an empty SPEC, a NUL byte inside a quoted string) the same errors are returned.
/// NULL `ctx`, `source_name`, `channels_r` or `num_r`, or NULL `data` with a non-zero `len`,
/// give ERROR_INVAL. On any error `*channels_r` is NULL and `*num_r` 0.
///
/// # Safety
/// `ctx` is NULL or live; `source_name` is NULL or a C string; `data` is NULL or points to
/// `len` readable bytes; `channels_r` and `num_r` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn xlchannel_config_channels(
    ctx: *mut libxl_ctx,
    source_name: *const c_char,
    data: *const c_char,
    len: usize,
    channels_r: *mut *mut libxl_device_channel,
    num_r: *mut c_int,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        let site = site!("xlchannel_config_channels");
        // SAFETY: every pointer is NULL or as this function's contract says.
        let (c, name, mut out, mut num) = unsafe {
            (
                ctx.as_ref(),
                source_name.as_ref(),
                channels_r.as_mut(),
                num_r.as_mut(),
            )
        };
        if let Some(out) = out.as_deref_mut() {
            *out = ptr::null_mut();
        }
        if let Some(num) = num.as_deref_mut() {
            *num = 0;
        }
        let (Some(c), Some(name), Some(out), Some(num)) = (c, name, out, num) else {
            let e = Error::Invalid("NULL ctx, source_name, channels_r or num_r".into());
            log_error(ctx, site, &e);
            return e.code();
        };
        if (data.is_null() && len != 0) || isize::try_from(len).is_err() {
            let e = Error::Invalid(format!("no {len} bytes of config data at {data:p}"));
            c.log_error(site, None, &e);
            return e.code();
        }
        let bytes = if len == 0 {
            &[][..]
        } else {
            // SAFETY: `len` readable bytes at `data` (non-NULL here; the contract).
            unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
        };
        // SAFETY: `source_name` is a C string (the contract).
        let source = unsafe { CStr::from_ptr(name) }.to_string_lossy();
        let got = match xlcfg::channels_from_xl_config(&source, bytes) {
            Ok(got) => got,
            Err(fatal) => return log_fatal(c, fatal),
        };
        log_lines(c, Level::Warn, &got.warnings);
        let result = c_int::try_from(got.channels.len())
            .map_err(|_| Error::Invalid("more channels than an int counts".into()))
            .and_then(|n| Ok((malloc_list(&got.channels)?, n)));
        match result {
            Ok((list, n)) => {
                *out = list;
                *num = n;
                0
            }
            Err(e) => {
                c.log_error(site, None, &e);
                e.code()
            }
        }
    })
}

/// Read one channel SPEC (`"connection=socket,name=org.example,path=/run/s"`) exactly as xl
/// 4.17 reads each string of a config's `channel` list, into `*channel`.
///
/// Like `libxl_device_channel_from_json`, `*channel` is initialised first (its old contents
/// are neither read nor freed) and then filled: devid -1, `name`, `connection`,
/// `u.socket.path` (socket only) and `backend_domname` (from `backend=`, unresolved). xl's
/// messages are logged as by `xlchannel_config_channels`. Returns 0, or ERROR_INVAL for a
/// SPEC xl refuses (where xl exits with `XLCHANNEL_XL_EXIT_FAILURE`; `*channel` is then
/// left initialised, holding nothing) and for NULL `ctx`, `spec` or `channel`. Dispose
/// `*channel` with `libxl_device_channel_dispose`.
///
/// # Safety
/// `ctx` is NULL or live; `spec` is NULL or a C string; `channel` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn xlchannel_channel_parse_spec(
    ctx: *mut libxl_ctx,
    spec: *const c_char,
    channel: *mut libxl_device_channel,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        let site = site!("xlchannel_channel_parse_spec");
        // SAFETY: every pointer is NULL or as this function's contract says.
        let (c, spec_ref) = unsafe {
            idl::init(channel);
            (ctx.as_ref(), spec.as_ref())
        };
        let (Some(c), Some(_), false) = (c, spec_ref, channel.is_null()) else {
            let e = Error::Invalid("NULL ctx, spec or channel".into());
            log_error(ctx, site, &e);
            return e.code();
        };
        // SAFETY: `spec` is a C string (non-NULL here; the contract).
        let got = match xlcfg::channel_from_xl_spec(unsafe { CStr::from_ptr(spec) }.to_bytes()) {
            Ok(got) => got,
            Err(fatal) => return log_fatal(c, fatal),
        };
        log_lines(c, Level::Warn, &got.warnings);
        // SAFETY: `channel` is writable (non-NULL here; the contract).
        match unsafe { libxl_device_channel::store(&got.channel, channel) } {
            Ok(()) => 0,
            Err(e) => {
                c.log_error(site, None, &e);
                e.code()
            }
        }
    })
}
