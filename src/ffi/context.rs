//! `libxl_ctx_alloc` / `libxl_ctx_free`.

use super::boundary::ffi_boundary;
use super::types::*;
use crate::context::Context;
use crate::error::{code, Error};
use crate::log::{log_to, Level};
use crate::site;
use libc::{c_int, c_uint};
use std::ptr;

/// Allocate a context. `version` must be `LIBXL_VERSION` (else ERROR_VERSION); `flags` must
/// be 0 (none are defined); `lg` may be NULL, in which case warnings and errors go to stderr.
/// On failure `*pctx` is set to NULL and the reason is logged through `lg`.
///
/// # Safety
/// `pctx` is NULL or writable; `lg` is NULL or a live logger that outlives the context.
#[no_mangle]
pub unsafe extern "C" fn libxl_ctx_alloc(
    pctx: *mut *mut libxl_ctx,
    version: c_int,
    flags: c_uint,
    lg: *mut xentoollog_logger,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        let site = site!("libxl_ctx_alloc");
        if pctx.is_null() {
            let e = Error::Invalid("NULL pctx passed".into());
            // SAFETY: `lg` is NULL or a live logger (this function's contract).
            unsafe { log_to(lg, Level::Error, -1, site, None, &e.to_string()) };
            return e.code();
        }
        // SAFETY: `pctx` is writable (non-NULL, this function's contract).
        unsafe { *pctx = ptr::null_mut() };
        let result = if flags != 0 {
            Err(Error::Invalid(format!("unknown flags {flags:#x}")))
        } else {
            Context::new(version, lg)
        };
        match result {
            Ok(ctx) => {
                // SAFETY: as above.
                unsafe { *pctx = Box::into_raw(Box::new(ctx)) };
                0
            }
            Err(e) => {
                // SAFETY: as above.
                unsafe { log_to(lg, Level::Error, -1, site, None, &e.to_string()) };
                e.code()
            }
        }
    })
}

/// Free a context from `libxl_ctx_alloc`; NULL is allowed. Always returns 0.
///
/// # Safety
/// `ctx` is NULL or a context from `libxl_ctx_alloc` not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn libxl_ctx_free(ctx: *mut libxl_ctx) -> c_int {
    ffi_boundary!(0, {
        if !ctx.is_null() {
            // SAFETY: a context from libxl_ctx_alloc, not used afterwards (the contract).
            drop(unsafe { Box::from_raw(ctx) });
        }
        0
    })
}
