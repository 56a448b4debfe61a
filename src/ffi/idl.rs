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

    /// A new C struct holding `malloc`'d copies of the model's strings (all or none).
    fn build(model: &Self::Model) -> Result<Self>;

    /// `free` every string the struct owns (the union member only under its connection).
    ///
    /// # Safety
    /// As for [`IdlStruct::read`]; the strings are not used afterwards.
    unsafe fn free_strings(&mut self);

    fn to_json(model: &Self::Model) -> Vec<u8>;

    /// Apply a JSON document onto `model`, libxl style: absent keys keep their value.
    fn apply_json(model: &mut Self::Model, json: &[u8]) -> Result<()>;
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
    let value = T::build(&T::Model::default()).expect("defaults hold no strings to allocate");
    ptr::write(p, value);
}

/// `_dispose`: free the strings, then zero the struct as libxl does; NULL is a no-op.
///
/// # Safety
/// `p` is NULL or an initialised `T`.
pub(crate) unsafe fn dispose<T: IdlStruct>(p: *mut T) {
    if let Some(s) = p.as_mut() {
        s.free_strings();
        ptr::write_bytes(p, 0, 1);
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
    let (Some(src), false) = (src.as_ref(), dst.is_null()) else {
        log_error(
            ctx,
            site,
            &Error::Invalid("NULL struct passed to copy".into()),
        );
        return;
    };
    match T::build(&src.read()) {
        Ok(value) => ptr::write(dst, value),
        Err(e) => {
            log_error(ctx, site, &e);
            init(dst);
        }
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
    let result = match p.as_ref() {
        None => Err(Error::Invalid("NULL struct passed to to_json".into())),
        Some(s) => cstring::malloc_bytes(&T::to_json(&s.read())),
    };
    result.unwrap_or_else(|e| {
        log_error(ctx, site, &e);
        ptr::null_mut()
    })
}

/// `_from_json`: parse `s` onto `*p`. On error `*p` is left exactly as it was.
///
/// # Safety
/// `p` is NULL or initialised; `s` is NULL or a C string.
pub(crate) unsafe fn from_json<T: IdlStruct>(
    ctx: *mut libxl_ctx,
    p: *mut T,
    s: *const c_char,
    site: Site,
) -> c_int {
    let result = (|| {
        let target = p
            .as_mut()
            .ok_or_else(|| Error::Invalid("NULL struct passed to from_json".into()))?;
        if s.is_null() {
            return Err(Error::Invalid("NULL JSON text passed to from_json".into()));
        }
        let mut model = target.read();
        T::apply_json(&mut model, CStr::from_ptr(s).to_bytes())?;
        let value = T::build(&model)?;
        target.free_strings();
        ptr::write(target, value);
        Ok(())
    })();
    match result {
        Ok(()) => 0,
        Err(e) => {
            log_error(ctx, site, &e);
            e.code()
        }
    }
}
