//! xlchannel: Xen channels (named PV consoles) as libxl 4.17 implements them, behind a C ABI
//! identical to Debian's libxenlight 4.17 for every `libxl_*` symbol it exports.
//!
//! Layout: [`channel`] (model and JSON form), [`devicemodel`] (the qemu side) and [`json`] are
//! the safe core; [`context`] and [`log`] hold per-caller state; `ffi` is the C layer,
//! generated into `include/libxl_channel.h` by `build.rs`.

// The safe core is declared through a macro, which cbindgen does not expand, so the header is
// generated from `ffi`, `context` and `log` alone (each of those keeps cbindgen away from what
// C must not see); an outer `/// cbindgen:ignore` on a module would do the same but become its
// rustdoc summary.
macro_rules! safe_core {
    ($($module:ident),*) => { $(pub mod $module;)* };
}
safe_core!(channel, devicemodel, error, guest, json, xenstore, xlcfg);
pub mod context;
pub mod ffi;
pub mod log;

pub use context::Context;
pub use error::{Error, Result};
