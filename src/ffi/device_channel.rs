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
            backend_domname: cstring::to_owned(self.backend_domname),
            devid: self.devid,
            name: cstring::to_owned(self.name),
            connection: self.connection,
            socket_path: if socket {
                cstring::to_owned(self.u.socket.path)
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
        ptr::write_bytes(dst, 0, 1);
        let d = &mut *dst;
        d.backend_domid = m.backend_domid;
        d.backend_domname = backend_domname;
        d.devid = m.devid;
        d.name = name;
        d.connection = m.connection;
        d.u.socket.path = path;
        Ok(())
    }

    unsafe fn free_strings(&mut self) {
        cstring::free(self.backend_domname);
        cstring::free(self.name);
        if self.connection == Connection::Socket as c_int {
            cstring::free(self.u.socket.path);
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
    ffi_boundary!((), { idl::init(p) })
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
        if let Some(p) = p.as_mut() {
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
    ffi_boundary!((), { idl::dispose(p) })
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
        idl::copy(ctx, dst, src, site!("libxl_device_channel_copy"))
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
        idl::to_json(ctx, p, site!("libxl_device_channel_to_json"))
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
        idl::from_json(ctx, p, s, site!("libxl_device_channel_from_json"))
    })
}
