//! `libxl_channelinfo_*` helpers.

use super::boundary::ffi_boundary;
use super::cstring::{self, Allocations};
use super::idl::{self, IdlStruct};
use super::types::*;
use crate::channel::{json, ChannelInfo, Connection};
use crate::error::{code::ERROR_FAIL, Result};
use crate::site;
use libc::{c_char, c_int};
use std::ptr;

impl IdlStruct for libxl_channelinfo {
    type Model = ChannelInfo;

    unsafe fn read(&self) -> ChannelInfo {
        let pty = self.connection == Connection::Pty as c_int;
        ChannelInfo {
            // SAFETY: `self` is initialised (read\'s contract): NULL or a C string.
            backend: unsafe { cstring::to_owned(self.backend) },
            backend_id: self.backend_id,
            // SAFETY: `self` is initialised (read\'s contract): NULL or a C string.
            frontend: unsafe { cstring::to_owned(self.frontend) },
            frontend_id: self.frontend_id,
            devid: self.devid,
            state: self.state,
            evtch: self.evtch,
            rref: self.rref,
            connection: self.connection,
            pty_path: if pty {
                // SAFETY: initialised (read's contract): NULL or a C string.
                unsafe { cstring::to_owned(self.u.pty.path) }
            } else {
                None
            },
        }
    }

    unsafe fn store(m: &ChannelInfo, dst: *mut Self) -> Result<()> {
        let mut strings = Allocations::default();
        let backend = strings.string(m.backend.as_ref())?;
        let frontend = strings.string(m.frontend.as_ref())?;
        let pty = m.connection() == Some(Connection::Pty);
        let path = strings.string(m.pty_path.as_ref().filter(|_| pty))?;
        strings.keep();
        // SAFETY: `dst` points to writable memory for the struct (store's contract); it is
        // zeroed first, so every byte, padding included, is initialised.
        let d = unsafe {
            ptr::write_bytes(dst, 0, 1);
            &mut *dst
        };
        d.backend = backend;
        d.backend_id = m.backend_id;
        d.frontend = frontend;
        d.frontend_id = m.frontend_id;
        d.devid = m.devid;
        d.state = m.state;
        d.evtch = m.evtch;
        d.rref = m.rref;
        d.connection = m.connection;
        d.u.pty.path = path;
        Ok(())
    }

    unsafe fn free_strings(&mut self) {
        // SAFETY: owned by the initialised struct, not used again (free_strings\' contract).
        unsafe { cstring::free(self.backend) };
        // SAFETY: owned by the initialised struct, not used again (free_strings\' contract).
        unsafe { cstring::free(self.frontend) };
        if self.connection == Connection::Pty as c_int {
            // SAFETY: the member of the connection the struct holds; owned, not used again.
            unsafe { cstring::free(self.u.pty.path) };
        }
    }

    fn to_json(m: &ChannelInfo) -> Vec<u8> {
        json::channel_info_to_json(m)
    }

    fn from_json(text: &[u8]) -> Result<ChannelInfo> {
        json::channel_info_from_json(text)
    }
}

/// Set `*p` to its defaults (`devid` -1, everything else 0/NULL).
///
/// # Safety
/// `p` is NULL or points to writable memory for the struct.
#[no_mangle]
pub unsafe extern "C" fn libxl_channelinfo_init(p: *mut libxl_channelinfo) {
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
pub unsafe extern "C" fn libxl_channelinfo_init_connection(
    p: *mut libxl_channelinfo,
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
pub unsafe extern "C" fn libxl_channelinfo_dispose(p: *mut libxl_channelinfo) {
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
pub unsafe extern "C" fn libxl_channelinfo_copy(
    ctx: *mut libxl_ctx,
    dst: *mut libxl_channelinfo,
    src: *const libxl_channelinfo,
) {
    ffi_boundary!((), {
        // SAFETY: the pointers are as this function's contract says.
        unsafe { idl::copy(ctx, dst, src, site!("libxl_channelinfo_copy")) }
    })
}

/// The struct as libxl's JSON; the caller frees the result with `free()`. NULL on error.
///
/// # Safety
/// `p` is NULL or initialised; `ctx` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn libxl_channelinfo_to_json(
    ctx: *mut libxl_ctx,
    p: *mut libxl_channelinfo,
) -> *mut c_char {
    ffi_boundary!(std::ptr::null_mut(), {
        // SAFETY: the pointers are as this function's contract says.
        unsafe { idl::to_json(ctx, p, site!("libxl_channelinfo_to_json")) }
    })
}

/// Parse libxl's JSON onto an initialised `*p`; fields absent from `s` keep their values.
/// Returns 0 or a `libxl_error`; on error `*p` is unchanged.
///
/// # Safety
/// `p` is NULL or initialised; `s` is NULL or a C string; `ctx` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn libxl_channelinfo_from_json(
    ctx: *mut libxl_ctx,
    p: *mut libxl_channelinfo,
    s: *const c_char,
) -> c_int {
    ffi_boundary!(ERROR_FAIL, {
        // SAFETY: the pointers are as this function's contract says.
        unsafe { idl::from_json(ctx, p, s, site!("libxl_channelinfo_from_json")) }
    })
}
