//! `libxl_*_gen_json`: the channel types written into a caller's yajl generator, as libxl's
//! generated functions write them (libxl calls them for the `channels` of a domain config).

use super::boundary::ffi_boundary;
use super::idl::IdlStruct;
use super::types::*;
use crate::channel::json;
use crate::json::JsonSink;
use libc::{c_int, c_void};

/// yajl's generator handle (`yajl_gen`); cbindgen prints yajl's own name.
pub type YajlGen = *mut c_void;
/// `yajl_gen_status` as yajl returns it: 0 is `yajl_gen_status_ok`.
pub type YajlGenStatus = c_int;

/// `yajl_gen_in_error_state`: what the functions return for a NULL argument.
const YAJL_GEN_IN_ERROR_STATE: YajlGenStatus = 3;

/// yajl's generator API (libyajl).
/// cbindgen:ignore
mod sys {
    use super::{YajlGen, YajlGenStatus};
    use libc::{c_longlong, c_uchar};
    extern "C" {
        pub fn yajl_gen_map_open(hand: YajlGen) -> YajlGenStatus;
        pub fn yajl_gen_map_close(hand: YajlGen) -> YajlGenStatus;
        pub fn yajl_gen_array_open(hand: YajlGen) -> YajlGenStatus;
        pub fn yajl_gen_array_close(hand: YajlGen) -> YajlGenStatus;
        pub fn yajl_gen_string(hand: YajlGen, s: *const c_uchar, len: usize) -> YajlGenStatus;
        pub fn yajl_gen_integer(hand: YajlGen, n: c_longlong) -> YajlGenStatus;
        pub fn yajl_gen_null(hand: YajlGen) -> YajlGenStatus;
    }
}
use sys::*;

/// The caller's generator; every call stops at the first status that is not ok.
struct Yajl(YajlGen);

fn status(s: YajlGenStatus) -> Result<(), YajlGenStatus> {
    if s == 0 {
        Ok(())
    } else {
        Err(s)
    }
}

// In each method: `self.0` is a live generator (checked non-NULL by the exports), and
// strings are passed with their length.
impl JsonSink for Yajl {
    type Error = YajlGenStatus;
    fn open_map(&mut self) -> Result<(), YajlGenStatus> {
        // SAFETY: a live generator; see above.
        status(unsafe { yajl_gen_map_open(self.0) })
    }
    fn close_map(&mut self) -> Result<(), YajlGenStatus> {
        // SAFETY: a live generator; see above.
        status(unsafe { yajl_gen_map_close(self.0) })
    }
    fn open_array(&mut self) -> Result<(), YajlGenStatus> {
        // SAFETY: a live generator; see above.
        status(unsafe { yajl_gen_array_open(self.0) })
    }
    fn close_array(&mut self) -> Result<(), YajlGenStatus> {
        // SAFETY: a live generator; see above.
        status(unsafe { yajl_gen_array_close(self.0) })
    }
    fn key(&mut self, key: &[u8]) -> Result<(), YajlGenStatus> {
        self.string(key)
    }
    fn string(&mut self, value: &[u8]) -> Result<(), YajlGenStatus> {
        // SAFETY: a live generator; see above.
        status(unsafe { yajl_gen_string(self.0, value.as_ptr(), value.len()) })
    }
    fn integer(&mut self, value: i64) -> Result<(), YajlGenStatus> {
        // SAFETY: a live generator; see above.
        status(unsafe { yajl_gen_integer(self.0, value) })
    }
    fn null(&mut self) -> Result<(), YajlGenStatus> {
        // SAFETY: a live generator; see above.
        status(unsafe { yajl_gen_null(self.0) })
    }
}

/// Write with `write` into `hand`: yajl's status (0 ok), or `yajl_gen_in_error_state` for a
/// NULL generator or value (where libxl's generated code would crash).
fn generate<T>(
    hand: YajlGen,
    p: Option<T>,
    write: impl FnOnce(&mut Yajl, T) -> Result<(), YajlGenStatus>,
) -> YajlGenStatus {
    match p {
        Some(p) if !hand.is_null() => write(&mut Yajl(hand), p).err().unwrap_or(0),
        _ => YAJL_GEN_IN_ERROR_STATE,
    }
}

/// Write `*p` into `hand` as libxl's `libxl_device_channel_gen_json` does.
///
/// # Safety
/// `hand` is NULL or a live yajl generator; `p` is NULL or initialised.
#[no_mangle]
pub unsafe extern "C" fn libxl_device_channel_gen_json(
    hand: YajlGen,
    p: *mut libxl_device_channel,
) -> YajlGenStatus {
    ffi_boundary!(YAJL_GEN_IN_ERROR_STATE, {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            generate(hand, p.as_ref(), |y, c| {
                json::write_device_channel(y, &c.read())
            })
        }
    })
}

/// Write `*p` into `hand` as libxl's `libxl_channelinfo_gen_json` does.
///
/// # Safety
/// `hand` is NULL or a live yajl generator; `p` is NULL or initialised.
#[no_mangle]
pub unsafe extern "C" fn libxl_channelinfo_gen_json(
    hand: YajlGen,
    p: *mut libxl_channelinfo,
) -> YajlGenStatus {
    ffi_boundary!(YAJL_GEN_IN_ERROR_STATE, {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            generate(hand, p.as_ref(), |y, i| {
                json::write_channel_info(y, &i.read())
            })
        }
    })
}

/// Write `*p` into `hand` as libxl's `libxl_channel_connection_gen_json` does: its name, or
/// null when out of range.
///
/// # Safety
/// `hand` is NULL or a live yajl generator; `p` is NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn libxl_channel_connection_gen_json(
    hand: YajlGen,
    p: *mut ChannelConnectionValue,
) -> YajlGenStatus {
    ffi_boundary!(YAJL_GEN_IN_ERROR_STATE, {
        // SAFETY: the pointers are as this function's contract says.
        unsafe { generate(hand, p.as_ref(), |y, c| json::write_connection(y, *c)) }
    })
}
