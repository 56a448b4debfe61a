//! xlchannel: Xen channels (named PV consoles) as libxl 4.17 implements them, behind a C ABI
//! identical to Debian's libxenlight 4.17 for every `libxl_*` symbol it exports.
//!
//! Layout: [`channel`] (model and JSON form), [`devicemodel`] (the qemu side) and [`json`] are
//! the safe core; [`context`] and [`log`] hold per-caller state; `ffi` is the C layer,
//! generated into `include/libxl_channel.h` by `build.rs`.

/// cbindgen:ignore
pub mod channel;
pub mod context;
/// cbindgen:ignore
pub mod devicemodel;
/// cbindgen:ignore
pub mod error;
pub mod ffi;
#[cfg(test)]
mod fuzz;
/// cbindgen:ignore
pub mod guest; // the in-guest side: channel links and open-by-name
/// cbindgen:ignore
pub mod json;
/// cbindgen:ignore
pub mod log;
/// cbindgen:ignore
pub mod xenstore;
/// cbindgen:ignore
pub mod xlcfg;

pub use context::Context;
pub use error::{Error, Result};
