//! C strings owned by libxl structs: allocated with `malloc` (via `strdup`) and released with
//! `free`, so that real libxl and C callers can free what this library allocates and back.

use crate::error::{Error, Result};
use libc::c_char;
use std::ffi::{CStr, CString};

/// Copy a C string into Rust; NULL stays `None`.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
pub unsafe fn to_owned(p: *const c_char) -> Option<CString> {
    if p.is_null() {
        None
    } else {
        // SAFETY: a NUL-terminated string (this function's contract).
        Some(unsafe { CStr::from_ptr(p) }.to_owned())
    }
}

/// A `malloc`'d copy of `s`, or NULL for `None`.
pub fn to_malloced(s: Option<&CStr>) -> Result<*mut c_char> {
    let Some(s) = s else {
        return Ok(std::ptr::null_mut());
    };
    // SAFETY: `s` is a valid NUL-terminated string.
    let p = unsafe { libc::strdup(s.as_ptr()) };
    if p.is_null() {
        Err(Error::NoMem)
    } else {
        Ok(p)
    }
}

/// Free a string produced by `to_malloced` (or by any C `malloc`); NULL is a no-op.
///
/// # Safety
/// `p` is NULL or a live `malloc` allocation not used afterwards.
pub unsafe fn free(p: *mut c_char) {
    // SAFETY: NULL or a live malloc allocation not used afterwards (this function's contract).
    unsafe { libc::free(p.cast()) };
}

/// A set of `malloc`'d strings that are freed unless the caller keeps them: lets a struct be
/// filled all-or-nothing.
#[derive(Default)]
pub struct Allocations(Vec<*mut c_char>);

impl Allocations {
    pub fn string(&mut self, s: Option<&CString>) -> Result<*mut c_char> {
        let p = to_malloced(s.map(CString::as_c_str))?;
        if !p.is_null() {
            self.0.push(p);
        }
        Ok(p)
    }

    /// Hand every string over to the struct that now holds them.
    pub fn keep(mut self) {
        self.0.clear();
    }
}

impl Drop for Allocations {
    fn drop(&mut self) {
        for p in self.0.drain(..) {
            // SAFETY: allocated by `string` and never handed out (`keep` empties the list).
            unsafe { free(p) }
        }
    }
}

/// A `malloc`'d NUL-terminated copy of `bytes` (which hold no NUL), for returned strings.
pub fn malloc_bytes(bytes: &[u8]) -> Result<*mut c_char> {
    // SAFETY: a fresh allocation of len+1 bytes, fully written before it is returned.
    unsafe {
        let p = libc::malloc(bytes.len() + 1).cast::<u8>();
        if p.is_null() {
            return Err(Error::NoMem);
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        *p.add(bytes.len()) = 0;
        Ok(p.cast())
    }
}
