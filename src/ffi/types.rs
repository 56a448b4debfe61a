//! The C view of libxl 4.17's channel types, laid out exactly as in Debian's `_libxl_types.h`
//! and `libxl.h` (proven by `tests/abi_bindgen.rs` and `c-tests/abi/`).
#![allow(non_camel_case_types)]

use libc::{c_char, c_int, c_void};

/// `LIBXL_HAVE_DEVICE_CHANNEL`: the channel API is present.
pub const LIBXL_HAVE_DEVICE_CHANNEL: c_int = 1;
/// The `version` argument `libxl_ctx_alloc` accepts.
pub const LIBXL_VERSION: c_int = 0;

pub type libxl_domid = u32;
pub type libxl_devid = c_int;
pub type libxl_ev_user = u64;

/// An enum field as C stores it. C may put any integer there, so Rust never reads it as a Rust
/// enum; cbindgen prints it under the C enum's name (see `cbindgen.toml`).
pub type ChannelConnectionValue = c_int;

/// Where a channel is connected. Struct fields and arguments of this type may hold any int.
#[repr(C)]
pub enum libxl_channel_connection {
    LIBXL_CHANNEL_CONNECTION_UNKNOWN = 0,
    LIBXL_CHANNEL_CONNECTION_PTY = 1,
    LIBXL_CHANNEL_CONNECTION_SOCKET = 2,
}

/// A `libxl_domain_type` value as C passes it (any int); cbindgen prints the C enum's name.
pub type DomainTypeValue = c_int;

/// The kind of guest (`libxl_domain_type`). Arguments of this type may hold any int.
#[repr(C)]
pub enum libxl_domain_type {
    LIBXL_DOMAIN_TYPE_INVALID = -1,
    LIBXL_DOMAIN_TYPE_HVM = 1,
    LIBXL_DOMAIN_TYPE_PV = 2,
    LIBXL_DOMAIN_TYPE_PVH = 3,
}

/// Declaration for the header only: functions return these values as `int`.
#[repr(C)]
pub enum libxl_error {
    ERROR_NONSPECIFIC = -1,
    ERROR_VERSION = -2,
    ERROR_FAIL = -3,
    ERROR_NI = -4,
    ERROR_NOMEM = -5,
    ERROR_INVAL = -6,
    ERROR_BADFAIL = -7,
    ERROR_GUEST_TIMEDOUT = -8,
    ERROR_TIMEDOUT = -9,
    ERROR_NOPARAVIRT = -10,
    ERROR_NOT_READY = -11,
    ERROR_OSEVENT_REG_FAIL = -12,
    ERROR_BUFFERFULL = -13,
    ERROR_UNKNOWN_CHILD = -14,
    ERROR_LOCK_FAIL = -15,
    ERROR_JSON_CONFIG_EMPTY = -16,
    ERROR_DEVICE_EXISTS = -17,
    ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH = -18,
    ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED = -19,
    ERROR_VNUMA_CONFIG_INVALID = -20,
    ERROR_DOMAIN_NOTFOUND = -21,
    ERROR_ABORTED = -22,
    ERROR_NOTFOUND = -23,
    ERROR_DOMAIN_DESTROYED = -24,
    ERROR_FEATURE_REMOVED = -25,
    ERROR_PROTOCOL_ERROR_QMP = -26,
    ERROR_UNKNOWN_QMP_ERROR = -27,
    ERROR_QMP_GENERIC_ERROR = -28,
    ERROR_QMP_COMMAND_NOT_FOUND = -29,
    ERROR_QMP_DEVICE_NOT_ACTIVE = -30,
    ERROR_QMP_DEVICE_NOT_FOUND = -31,
    ERROR_QEMU_API = -32,
}

/// One row of an enum's name table; the table ends with `{ NULL, -1 }`.
#[repr(C)]
pub struct libxl_enum_string_table {
    pub s: *const c_char,
    pub v: c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct libxl_device_channel_socket {
    pub path: *mut c_char,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub union libxl_device_channel_u {
    pub socket: libxl_device_channel_socket,
}

/// `libxl_device_channel`. Strings are `malloc`'d and owned by the struct.
#[repr(C)]
pub struct libxl_device_channel {
    pub backend_domid: libxl_domid,
    pub backend_domname: *mut c_char,
    pub devid: libxl_devid,
    pub name: *mut c_char,
    pub connection: ChannelConnectionValue,
    pub u: libxl_device_channel_u,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct libxl_channelinfo_pty {
    pub path: *mut c_char,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub union libxl_channelinfo_u {
    pub pty: libxl_channelinfo_pty,
}

/// `libxl_channelinfo`. Strings are `malloc`'d and owned by the struct.
#[repr(C)]
pub struct libxl_channelinfo {
    pub backend: *mut c_char,
    pub backend_id: u32,
    pub frontend: *mut c_char,
    pub frontend_id: u32,
    pub devid: libxl_devid,
    pub state: c_int,
    pub evtch: c_int,
    pub rref: c_int,
    pub connection: ChannelConnectionValue,
    pub u: libxl_channelinfo_u,
}

/// The opaque library context from `libxl_ctx_alloc`.
pub type libxl_ctx = crate::Context;

#[repr(C)]
#[derive(Clone, Copy)]
pub union libxl_asyncop_how_u {
    /// Used when `callback` is NULL.
    pub for_event: libxl_ev_user,
    /// Passed to `callback`.
    pub for_callback: *mut c_void,
}

/// How an asynchronous operation reports completion (`libxl_asyncop_how`).
#[repr(C)]
pub struct libxl_asyncop_how {
    pub callback:
        Option<unsafe extern "C" fn(ctx: *mut libxl_ctx, rc: c_int, for_callback: *mut c_void)>,
    pub u: libxl_asyncop_how_u,
}

/// libxl's `libxl_domain_config`, only ever handled by pointer here: its members are read
/// through bindgen's view of the installed `libxl.h` (see `ffi::domain_config`).
pub struct libxl_domain_config {
    _opaque: [u8; 0],
}

/// `local_domid` value meaning "the domain this process runs in, as xenstore says" (the
/// `domid` key of its own `/local/domain/<domid>`). The value of Xen's `DOMID_SELF`.
pub const XLCHANNEL_DOMID_SELF: u32 = 0x7FF0;

/// The exit status xl 4.17 gives for every channel configuration it refuses (a file it
/// cannot parse, or a channel SPEC it rejects). A failure of `xlchannel_config_channels` or
/// `xlchannel_channel_parse_spec` on valid arguments is exactly where xl exits with it.
pub const XLCHANNEL_XL_EXIT_FAILURE: c_int = 1;

/// `struct xentoollog_logger` from `<xentoollog.h>`; only ever handled by pointer.
#[repr(C)]
pub struct xentoollog_logger {
    _opaque: [u8; 0],
}
