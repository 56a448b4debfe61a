//! `libxl_device_channel_*` helpers.

use super::boundary::ffi_boundary;
use super::cstring::{self, Allocations};
use super::idl::{self, IdlStruct};
use super::types::*;
use crate::channel::{json, Connection, DeviceChannel};
use crate::error::{code::ERROR_FAIL, Result};
use crate::site;
use libc::{c_char, c_int};
use std::ptr;

impl IdlStruct for libxl_device_channel {
    type Model = DeviceChannel;

    unsafe fn read(&self) -> DeviceChannel {
        let socket = self.connection == Connection::Socket as c_int;
        DeviceChannel {
            backend_domid: self.backend_domid,
            // SAFETY: `self` is initialised (read\'s contract): NULL or a C string.
            backend_domname: unsafe { cstring::to_owned(self.backend_domname) },
            devid: self.devid,
            // SAFETY: `self` is initialised (read\'s contract): NULL or a C string.
            name: unsafe { cstring::to_owned(self.name) },
            connection: self.connection,
            socket_path: if socket {
                // SAFETY: initialised (read's contract): NULL or a C string.
                unsafe { cstring::to_owned(self.u.socket.path) }
            } else {
                None
            },
        }
    }

    unsafe fn store(m: &DeviceChannel, dst: *mut Self) -> Result<()> {
        let mut strings = Allocations::default();
        let backend_domname = strings.string(m.backend_domname.as_ref())?;
        let name = strings.string(m.name.as_ref())?;
        let socket = m.connection() == Some(Connection::Socket);
        let path = strings.string(m.socket_path.as_ref().filter(|_| socket))?;
        strings.keep();
        // SAFETY: `dst` points to writable memory for the struct (store's contract); it is
        // zeroed first, so every byte, padding included, is initialised.
        let d = unsafe {
            ptr::write_bytes(dst, 0, 1);
            &mut *dst
        };
        d.backend_domid = m.backend_domid;
        d.backend_domname = backend_domname;
        d.devid = m.devid;
        d.name = name;
        d.connection = m.connection;
        d.u.socket.path = path;
        Ok(())
    }

    unsafe fn free_strings(&mut self) {
        // SAFETY: owned by the initialised struct, not used again (free_strings\' contract).
        unsafe { cstring::free(self.backend_domname) };
        // SAFETY: owned by the initialised struct, not used again (free_strings\' contract).
        unsafe { cstring::free(self.name) };
        if self.connection == Connection::Socket as c_int {
            // SAFETY: the member of the connection the struct holds; owned, not used again.
            unsafe { cstring::free(self.u.socket.path) };
        }
    }

    fn to_json(m: &DeviceChannel) -> Vec<u8> {
        json::device_channel_to_json(m)
    }

    fn from_json(text: &[u8]) -> Result<DeviceChannel> {
        json::device_channel_from_json(text)
    }
}

/// Set `*p` to its defaults (`devid` -1, everything else 0/NULL).
///
/// # Safety
/// `p` is NULL or points to writable memory for the struct.
#[no_mangle]
pub unsafe extern "C" fn libxl_device_channel_init(p: *mut libxl_device_channel) {
    ffi_boundary!((), {
        // SAFETY: `p` is NULL or writable (this function's contract).
        unsafe { idl::init(p) }
    })
}

/// Set the union's selector; libxl's generated helper for a freshly initialised struct.
///
/// # Safety
/// `p` is NULL or an initialised struct.
#[no_mangle]
pub unsafe extern "C" fn libxl_device_channel_init_connection(
    p: *mut libxl_device_channel,
    connection: ChannelConnectionValue,
) {
    ffi_boundary!((), {
        // SAFETY: `p` is NULL or an initialised struct (this function's contract).
        if let Some(p) = unsafe { p.as_mut() } {
            p.connection = connection;
        }
    })
}

/// Free the strings the struct owns with `free()` and zero it; it can be initialised again.
///
/// # Safety
/// `p` is NULL or an initialised struct.
#[no_mangle]
pub unsafe extern "C" fn libxl_device_channel_dispose(p: *mut libxl_device_channel) {
    ffi_boundary!((), {
        // SAFETY: `p` is NULL or initialised (this function's contract).
        unsafe { idl::dispose(p) }
    })
}

/// Deep copy `src` into `dst` (whose old contents are overwritten, not freed).
///
/// # Safety
/// `src` is NULL or initialised; `dst` is NULL or writable; `ctx` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn libxl_device_channel_copy(
    ctx: *mut libxl_ctx,
    dst: *mut libxl_device_channel,
    src: *const libxl_device_channel,
) {
    ffi_boundary!((), {
        // SAFETY: the pointers are as this function's contract says.
        unsafe { idl::copy(ctx, dst, src, site!("libxl_device_channel_copy")) }
    })
}

/// The struct as libxl's JSON; the caller frees the result with `free()`. NULL on error.
///
/// # Safety
/// `p` is NULL or initialised; `ctx` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn libxl_device_channel_to_json(
    ctx: *mut libxl_ctx,
    p: *mut libxl_device_channel,
) -> *mut c_char {
    ffi_boundary!(std::ptr::null_mut(), {
        // SAFETY: the pointers are as this function's contract says.
        unsafe { idl::to_json(ctx, p, site!("libxl_device_channel_to_json")) }
    })
}

/// Parse libxl's JSON onto an initialised `*p`; fields absent from `s` keep their values.
/// Returns 0 or a `libxl_error`; on error `*p` is unchanged.
///
/// # Safety
/// `p` is NULL or initialised; `s` is NULL or a C string; `ctx` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn libxl_device_channel_from_json(
    ctx: *mut libxl_ctx,
    p: *mut libxl_device_channel,
    s: *const c_char,
) -> c_int {
    ffi_boundary!(ERROR_FAIL, {
        // SAFETY: the pointers are as this function's contract says.
        unsafe { idl::from_json(ctx, p, s, site!("libxl_device_channel_from_json")) }
    })
}
