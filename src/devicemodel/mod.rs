//! The device-model (qemu) side of channels: whether a guest needs a qemu at all, as libxl
//! 4.17's `libxl__need_xenpv_qemu` decides it, and the `-chardev` arguments that give each
//! channel its qemu character device.
//!
//! Both work on safe Rust values; `ffi::devicemodel` reads them out of C callers' structs
//! (including a real `libxl_domain_config`).

pub mod chardev;
pub mod need;

pub use chardev::chardev_args;
pub use need::{DomainDevices, DomainType, LocalDomain, Reason};
pub mod qmp;
