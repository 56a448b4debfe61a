//! The C ABI: thin `extern "C"` functions that check and convert arguments, call the safe
//! core and turn its results into libxl's return conventions. Every export runs inside
//! `boundary::ffi_boundary`.

pub mod additions;
pub(crate) mod boundary;
mod channelinfo;
mod connection;
#[cfg(not(feature = "embedded"))]
mod context;
pub(crate) mod cstring;
mod device_channel;
mod device_ops;
mod devicemodel;
mod domain_config;
mod embed;
/// cbindgen:ignore
#[cfg(feature = "embedded")]
mod embedded;
mod guest;
pub(crate) mod idl;
pub mod types;
mod xl_config;
mod yajl;
