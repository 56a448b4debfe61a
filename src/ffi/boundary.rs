//! The one panic boundary every exported function goes through.

/// Run the body of an `extern "C"` function; if it panics, the panic stops here and the
/// function returns `$on_panic` instead (a panic must never unwind into C).
macro_rules! ffi_boundary {
    ($on_panic:expr, $body:block) => {{
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(_) => $on_panic,
        }
    }};
}
pub(crate) use ffi_boundary;
