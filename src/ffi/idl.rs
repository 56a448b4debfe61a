//! The generated-helper family libxl has for every IDL struct (`_init`, `_dispose`, `_copy`,
//! `_to_json`, `_from_json`), written once over a trait both channel structs implement.

use super::cstring;
use super::types::libxl_ctx;
use crate::error::{Error, Result};
use crate::log::Site;
use libc::{c_char, c_int};
use std::ffi::CStr;
use std::ptr;

/// A C struct from libxl's IDL and the Rust model it mirrors.
pub(crate) trait IdlStruct: Sized {
    type Model: Default;

    /// Copy the C struct's contents out.
    ///
    /// # Safety
    /// `self` was initialised: its strings are NULL or valid C strings.
    unsafe fn read(&self) -> Self::Model;

    /// Overwrite `*dst` with the model: padding zeroed as libxl's memset leaves it, strings
    /// `malloc`'d copies. All or nothing: on error `*dst` is untouched. The old contents are
    /// neither read nor freed.
    ///
    /// # Safety
    /// `dst` points to writable memory for a `Self`.
    unsafe fn store(model: &Self::Model, dst: *mut Self) -> Result<()>;

    /// `free` every string the struct owns (the union member only under its connection).
    ///
    /// # Safety
    /// As for [`IdlStruct::read`]; the strings are not used afterwards.
    unsafe fn free_strings(&mut self);

    fn to_json(model: &Self::Model) -> Vec<u8>;

    /// The model a JSON document describes, starting from the defaults as libxl does.
    fn from_json(json: &[u8]) -> Result<Self::Model>;
}

/// Log `error` through the context's logger, if there is a context.
pub(crate) fn log_error(ctx: *mut libxl_ctx, site: Site, error: &Error) {
    // SAFETY: a non-NULL ctx comes from libxl_ctx_alloc per the API contract.
    if let Some(ctx) = unsafe { ctx.as_ref() } {
        ctx.log_error(site, None, error);
    }
}

/// `_init`: the model's defaults; a NULL pointer is ignored.
///
/// # Safety
/// `p` is NULL or points to writable memory for a `T` (its old contents are not read).
pub(crate) unsafe fn init<T: IdlStruct>(p: *mut T) {
    if p.is_null() {
        return;
    }
    // SAFETY: `p` points to writable memory for a `T` (this function's contract).
    unsafe { T::store(&T::Model::default(), p) }.expect("defaults hold no strings to allocate");
}

/// `_dispose`: free the strings, then zero the struct as libxl does; NULL is a no-op.
///
/// # Safety
/// `p` is NULL or an initialised `T`.
pub(crate) unsafe fn dispose<T: IdlStruct>(p: *mut T) {
    // SAFETY: `p` is NULL or an initialised `T` (this function's contract), whose strings are
    // freed once and which is then zeroed as a whole.
    unsafe {
        if let Some(s) = p.as_mut() {
            s.free_strings();
            ptr::write_bytes(p, 0, 1);
        }
    }
}

/// `_copy`: deep copy; `dst`'s old contents are overwritten, not freed (libxl's contract).
///
/// # Safety
/// `src` is NULL or initialised; `dst` is NULL or writable.
pub(crate) unsafe fn copy<T: IdlStruct>(
    ctx: *mut libxl_ctx,
    dst: *mut T,
    src: *const T,
    site: Site,
) {
    // SAFETY: `src` is NULL or initialised (this function's contract).
    let (Some(src), false) = (unsafe { src.as_ref() }, dst.is_null()) else {
        log_error(
            ctx,
            site,
            &Error::Invalid("NULL struct passed to copy".into()),
        );
        return;
    };
    // SAFETY: `src` is initialised and `dst` writable (checked non-NULL above).
    if let Err(e) = unsafe { T::store(&src.read(), dst) } {
        log_error(ctx, site, &e);
        // SAFETY: as above.
        unsafe { init(dst) };
    }
}

/// `_to_json`: a `malloc`'d JSON text, or NULL (logged) on failure.
///
/// # Safety
/// `p` is NULL or initialised.
pub(crate) unsafe fn to_json<T: IdlStruct>(
    ctx: *mut libxl_ctx,
    p: *const T,
    site: Site,
) -> *mut c_char {
    // SAFETY: `p` is NULL or initialised (this function's contract).
    let result = match unsafe { p.as_ref() } {
        None => Err(Error::Invalid("NULL struct passed to to_json".into())),
        // SAFETY: as above.
        Some(s) => cstring::malloc_bytes(&T::to_json(&unsafe { s.read() })),
    };
    result.unwrap_or_else(|e| {
        log_error(ctx, site, &e);
        ptr::null_mut()
    })
}

/// `_from_json`: like libxl, initialise `*p` (its old contents are not read or freed) and
/// fill it from `s`. On error `*p` is left initialised, holding nothing to free.
///
/// # Safety
/// `p` is NULL or writable; `s` is NULL or a C string.
pub(crate) unsafe fn from_json<T: IdlStruct>(
    ctx: *mut libxl_ctx,
    p: *mut T,
    s: *const c_char,
    site: Site,
) -> c_int {
    if p.is_null() {
        let e = Error::Invalid("NULL struct passed to from_json".into());
        log_error(ctx, site, &e);
        return e.code();
    }
    // SAFETY: `p` is writable (non-NULL, this function's contract).
    unsafe { init(p) };
    let result = if s.is_null() {
        Err(Error::Invalid("NULL JSON text passed to from_json".into()))
    } else {
        // SAFETY: `s` is a C string and `p` writable (this function's contract).
        T::from_json(unsafe { CStr::from_ptr(s) }.to_bytes())
            .and_then(|model| unsafe { T::store(&model, p) })
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            log_error(ctx, site, &e);
            e.code()
        }
    }
}
