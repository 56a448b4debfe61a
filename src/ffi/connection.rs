//! `libxl_channel_connection_*`: names, name table and JSON of the enum.

use super::boundary::ffi_boundary;
use super::cstring;
use super::idl::log_error;
use super::types::*;
use crate::channel::{json, Connection};
use crate::error::{code, Error};
use crate::site;
use libc::{c_char, c_int};
use std::ffi::CStr;
use std::ptr;

/// `{ name, value }` for each connection, ending with `{ NULL, -1 }` as libxl's tables do.
#[no_mangle]
pub static mut libxl_channel_connection_string_table: [libxl_enum_string_table; 4] = [
    libxl_enum_string_table {
        s: c"unknown".as_ptr(),
        v: Connection::Unknown as c_int,
    },
    libxl_enum_string_table {
        s: c"pty".as_ptr(),
        v: Connection::Pty as c_int,
    },
    libxl_enum_string_table {
        s: c"socket".as_ptr(),
        v: Connection::Socket as c_int,
    },
    libxl_enum_string_table {
        s: ptr::null(),
        v: -1,
    },
];

/// The lowercase name of `p` (static storage), or NULL when `p` is out of range.
#[no_mangle]
pub extern "C" fn libxl_channel_connection_to_string(p: ChannelConnectionValue) -> *const c_char {
    ffi_boundary!(ptr::null(), {
        Connection::from_raw(p).map_or(ptr::null(), |c| c.name_cstr().as_ptr())
    })
}

/// Look a name up case-insensitively: 0 and `*e` set, ERROR_FAIL for an unknown name,
/// ERROR_INVAL for NULL arguments.
///
/// # Safety
/// `s` is NULL or a C string; `e` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn libxl_channel_connection_from_string(
    s: *const c_char,
    e: *mut ChannelConnectionValue,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        if s.is_null() || e.is_null() {
            return code::ERROR_INVAL;
        }
        // SAFETY: `s` is a C string and `e` writable (checked non-NULL above; the contract).
        match Connection::from_name(unsafe { CStr::from_ptr(s) }.to_bytes()) {
            Some(c) => {
                // SAFETY: as above.
                unsafe { *e = c as c_int };
                0
            }
            None => code::ERROR_FAIL,
        }
    })
}

/// The value as JSON (`"pty"`, or `null` when out of range); freed by the caller with `free()`.
///
/// # Safety
/// `ctx` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn libxl_channel_connection_to_json(
    ctx: *mut libxl_ctx,
    p: ChannelConnectionValue,
) -> *mut c_char {
    ffi_boundary!(ptr::null_mut(), {
        cstring::malloc_bytes(&json::connection_to_json(p)).unwrap_or_else(|e| {
            log_error(ctx, site!("libxl_channel_connection_to_json"), &e);
            ptr::null_mut()
        })
    })
}

/// Parse a JSON string naming a connection into `*p`; 0 or a `libxl_error`.
///
/// # Safety
/// `p` is NULL or writable; `s` is NULL or a C string; `ctx` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn libxl_channel_connection_from_json(
    ctx: *mut libxl_ctx,
    p: *mut ChannelConnectionValue,
    s: *const c_char,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        let result = if p.is_null() || s.is_null() {
            Err(Error::Invalid("NULL argument passed to from_json".into()))
        } else {
            // SAFETY: `s` is a C string (checked non-NULL above; the contract).
            json::connection_from_json(unsafe { CStr::from_ptr(s) }.to_bytes())
        };
        match result {
            Ok(c) => {
                // SAFETY: `p` is writable (checked non-NULL above; the contract).
                unsafe { *p = c as c_int };
                0
            }
            Err(e) => {
                log_error(ctx, site!("libxl_channel_connection_from_json"), &e);
                e.code()
            }
        }
    })
}
