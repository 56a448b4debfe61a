//! The channel model: libxl's `libxl_device_channel` and `libxl_channelinfo` as owned Rust values.
//!
//! C callers may store any integer in an enum field, so the connection is kept as the raw value
//! and only interpreted through [`Connection::from_raw`].

use std::ffi::{CStr, CString};

/// `libxl_channel_connection`: where the backend connects the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Connection {
    Unknown = 0,
    Pty = 1,
    Socket = 2,
}

impl Connection {
    pub const ALL: [Connection; 3] = [Connection::Unknown, Connection::Pty, Connection::Socket];

    pub fn from_raw(value: i32) -> Option<Connection> {
        Connection::ALL.into_iter().find(|c| *c as i32 == value)
    }

    /// The lowercase name libxl uses in JSON, xenstore and xl configs.
    pub fn name(self) -> &'static str {
        self.name_cstr()
            .to_str()
            .expect("connection names are ASCII")
    }

    pub fn name_cstr(self) -> &'static CStr {
        match self {
            Connection::Unknown => c"unknown",
            Connection::Pty => c"pty",
            Connection::Socket => c"socket",
        }
    }

    /// libxl matches enum names case-insensitively.
    pub fn from_name(name: &[u8]) -> Option<Connection> {
        Connection::ALL
            .into_iter()
            .find(|c| c.name().as_bytes().eq_ignore_ascii_case(name))
    }
}

/// A channel as configured for a domain (`libxl_device_channel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceChannel {
    pub backend_domid: u32,
    pub backend_domname: Option<CString>,
    pub devid: i32,
    pub name: Option<CString>,
    /// Raw `libxl_channel_connection` value; may be out of range when it came from C.
    pub connection: i32,
    /// `u.socket.path`; only meaningful while `connection` is `Socket`.
    pub socket_path: Option<CString>,
}

impl Default for DeviceChannel {
    /// libxl's `_init`: devid -1 ("pick one"), everything else zero.
    fn default() -> Self {
        DeviceChannel {
            backend_domid: 0,
            backend_domname: None,
            devid: -1,
            name: None,
            connection: Connection::Unknown as i32,
            socket_path: None,
        }
    }
}

impl DeviceChannel {
    pub fn connection(&self) -> Option<Connection> {
        Connection::from_raw(self.connection)
    }
}

/// What `libxl_device_channel_getinfo` reports (`libxl_channelinfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    pub backend: Option<CString>,
    pub backend_id: u32,
    pub frontend: Option<CString>,
    pub frontend_id: u32,
    pub devid: i32,
    pub state: i32,
    pub evtch: i32,
    pub rref: i32,
    /// Raw `libxl_channel_connection` value, as in [`DeviceChannel::connection`].
    pub connection: i32,
    /// `u.pty.path`; only meaningful while `connection` is `Pty`.
    pub pty_path: Option<CString>,
}

impl Default for ChannelInfo {
    /// libxl's `_init`: devid -1, everything else zero.
    fn default() -> Self {
        ChannelInfo {
            backend: None,
            backend_id: 0,
            frontend: None,
            frontend_id: 0,
            devid: -1,
            state: 0,
            evtch: 0,
            rref: 0,
            connection: Connection::Unknown as i32,
            pty_path: None,
        }
    }
}

impl ChannelInfo {
    pub fn connection(&self) -> Option<Connection> {
        Connection::from_raw(self.connection)
    }
}
