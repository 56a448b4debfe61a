//! Where and how a channel lives in xenstore: it is a PV console (devid >= 1) with a name.
//! This module only computes paths, keys, values and permissions; `store` writes them.

use super::model::{Connection, DeviceChannel};
use crate::error::{Error, Result};
use crate::xenstore::{Access, Perm};

/// Console output buffer limit libxl writes for every console.
pub const CONSOLE_LIMIT: u32 = 1_048_576;
/// The PV console protocol name.
pub const CONSOLE_PROTOCOL: &str = "vt100";
/// XenbusStateInitialising.
pub const STATE_INITIALISING: u32 = 1;

pub fn frontend_path(domid: u32, devid: i32) -> String {
    format!("/local/domain/{domid}/device/console/{devid}")
}

pub fn backend_path(backend_domid: u32, domid: u32, devid: i32) -> String {
    format!("/local/domain/{backend_domid}/backend/console/{domid}/{devid}")
}

/// libxl's private, dom0-only copy of the device.
pub fn libxl_path(domid: u32, devid: i32) -> String {
    format!("/libxl/{domid}/device/console/{devid}")
}

pub fn libxl_console_dir(domid: u32) -> String {
    format!("/libxl/{domid}/device/console")
}

pub fn frontend_console_dir(domid: u32) -> String {
    format!("/local/domain/{domid}/device/console")
}

/// The nodes of one channel's console, in the order libxl writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleNodes {
    pub domid: u32,
    pub backend_domid: u32,
    pub devid: i32,
    /// Guest-writable frontend keys.
    pub frontend_rw: Vec<(&'static str, Vec<u8>)>,
    /// Frontend keys only the backend domain may write.
    pub frontend_ro: Vec<(&'static str, Vec<u8>)>,
    /// Values are bytes: a channel's name and path go to xenstore exactly as the caller's C
    /// strings hold them, whatever their encoding, as libxl writes them.
    pub backend: Vec<(&'static str, Vec<u8>)>,
}

impl ConsoleNodes {
    pub fn frontend_path(&self) -> String {
        frontend_path(self.domid, self.devid)
    }

    pub fn backend_path(&self) -> String {
        backend_path(self.backend_domid, self.domid, self.devid)
    }

    pub fn libxl_path(&self) -> String {
        libxl_path(self.domid, self.devid)
    }

    /// The guest owns its frontend directory; the backend domain may read it.
    pub fn frontend_perms(&self) -> [Perm; 2] {
        [
            Perm::new(self.domid, Access::None),
            Perm::new(self.backend_domid, Access::Read),
        ]
    }

    /// Keys the guest must not change: owned by the backend domain, readable by the guest.
    pub fn frontend_ro_perms(&self) -> [Perm; 2] {
        [
            Perm::new(self.backend_domid, Access::None),
            Perm::new(self.domid, Access::Read),
        ]
    }

    pub fn backend_perms(&self) -> [Perm; 2] {
        [
            Perm::new(self.backend_domid, Access::None),
            Perm::new(self.domid, Access::Read),
        ]
    }
}

/// The console devid channel `index` of a domain's configuration gets at domain creation when
/// its devid is -1: console 0 is the primary console, so channel i is console i+1.
pub fn devid_at_create(index: usize) -> i32 {
    i32::try_from(index + 1).unwrap_or(i32::MAX)
}

/// A channel's console devid must be >= 1 (console 0 is the primary console).
pub fn check_devid(devid: i32) -> Result<()> {
    if devid < 1 {
        return Err(Error::Invalid(format!(
            "channel devid {devid}: console 0 is the primary console, channels use devid 1 and up"
        )));
    }
    Ok(())
}

/// The channel's connection, with libxl's checks and messages: it must be pty or socket, and
/// a socket needs a path. `devid` names the channel in the messages.
pub fn checked_connection(channel: &DeviceChannel, devid: i32) -> Result<Connection> {
    match channel.connection() {
        Some(Connection::Unknown) => Err(Error::Invalid(format!(
            "channel {devid} has no defined connection; to where should it be connected?"
        ))),
        Some(Connection::Socket) if channel.socket_path.is_none() => {
            Err(Error::Invalid(format!("channel {devid} has no path")))
        }
        Some(c) => Ok(c),
        None => Err(Error::Invalid(format!(
            "channel {devid} has an invalid connection value {}",
            channel.connection
        ))),
    }
}

/// A socket channel's path must be absolute (an addition to libxl's checks): qemu would
/// resolve a relative one against its own working directory, and the dom0 agent that reads
/// it from xenstore against another.
fn check_socket_path(channel: &DeviceChannel, devid: i32) -> Result<()> {
    let path = channel
        .socket_path
        .as_ref()
        .map_or(&b""[..], |p| p.to_bytes());
    match path.first() {
        Some(b'/') => Ok(()),
        None => Err(Error::Invalid(format!("channel {devid} has an empty path"))),
        Some(_) => Err(Error::Invalid(format!(
            "channel {devid} has a relative path '{}'; a socket path must be absolute",
            String::from_utf8_lossy(path)
        ))),
    }
}

/// The chardev a device model creates for a socket channel; the console's `output` names it.
pub fn chardev_id(devid: i32) -> String {
    format!("libxl-channel{devid}")
}

/// The text of a channel's `output` node.
fn output_node(connection: Connection, devid: i32) -> String {
    match connection {
        Connection::Socket => format!("chardev:{}", chardev_id(devid)),
        _ => "pty".into(),
    }
}

/// Validate a channel (libxl's checks and messages) and compute its console's nodes.
/// `devid` is the console devid the channel gets; `backend_domid` is already resolved.
pub fn console_nodes(
    domid: u32,
    channel: &DeviceChannel,
    devid: i32,
    backend_domid: u32,
) -> Result<ConsoleNodes> {
    let name = channel
        .name
        .as_ref()
        .ok_or_else(|| Error::Invalid(format!("channel {devid} has no name")))?
        .as_bytes()
        .to_vec();
    check_devid(devid)?;
    let connection = checked_connection(channel, devid)?;
    if connection == Connection::Socket {
        check_socket_path(channel, devid)?;
    }
    let output = output_node(connection, devid);
    let text = |s: &str| s.as_bytes().to_vec();
    let mut backend = vec![
        ("frontend-id", domid.to_string().into_bytes()),
        ("online", text("1")),
        ("state", STATE_INITIALISING.to_string().into_bytes()),
        ("protocol", text(CONSOLE_PROTOCOL)),
        ("name", name.clone()),
        ("connection", text(connection.name())),
    ];
    if let (Connection::Socket, Some(path)) = (connection, &channel.socket_path) {
        backend.push(("path", path.as_bytes().to_vec()));
    }
    Ok(ConsoleNodes {
        domid,
        backend_domid,
        devid,
        frontend_rw: vec![
            ("backend-id", backend_domid.to_string().into_bytes()),
            ("state", STATE_INITIALISING.to_string().into_bytes()),
            ("protocol", text(CONSOLE_PROTOCOL)),
        ],
        frontend_ro: vec![
            ("name", name),
            ("limit", CONSOLE_LIMIT.to_string().into_bytes()),
            ("type", text("ioemu")),
            ("output", output.into_bytes()),
            ("tty", Vec::new()),
        ],
        backend,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    fn channel(name: Option<&str>, connection: i32, path: Option<&str>) -> DeviceChannel {
        DeviceChannel {
            name: name.map(|n| CString::new(n).unwrap()),
            connection,
            socket_path: path.map(|p| CString::new(p).unwrap()),
            ..DeviceChannel::default()
        }
    }

    #[test]
    fn socket_channel_nodes() {
        let n = console_nodes(5, &channel(Some("org.a"), 2, Some("/s")), 2, 0).unwrap();
        assert_eq!(n.frontend_path(), "/local/domain/5/device/console/2");
        assert_eq!(n.backend_path(), "/local/domain/0/backend/console/5/2");
        assert_eq!(n.libxl_path(), "/libxl/5/device/console/2");
        assert_eq!(
            n.frontend_ro[3],
            ("output", b"chardev:libxl-channel2".to_vec())
        );
        assert_eq!(n.backend.last(), Some(&("path", b"/s".to_vec())));
        assert_eq!(
            n.frontend_perms(),
            [Perm::new(5, Access::None), Perm::new(0, Access::Read)]
        );
    }

    #[test]
    fn validation_messages_are_libxls() {
        let msg = |c: DeviceChannel| console_nodes(1, &c, 3, 0).unwrap_err().to_string();
        assert_eq!(msg(channel(None, 1, None)), "channel 3 has no name");
        assert_eq!(
            msg(channel(Some("n"), 0, None)),
            "channel 3 has no defined connection; to where should it be connected?"
        );
        assert_eq!(msg(channel(Some("n"), 2, None)), "channel 3 has no path");
        assert_eq!(
            msg(channel(Some("n"), 9, None)),
            "channel 3 has an invalid connection value 9"
        );
        assert_eq!(
            msg(channel(Some("n"), 2, Some(""))),
            "channel 3 has an empty path"
        );
        assert_eq!(
            msg(channel(Some("n"), 2, Some("run/a.sock"))),
            "channel 3 has a relative path 'run/a.sock'; a socket path must be absolute"
        );
        assert_eq!(
            msg(channel(Some("n"), 2, Some("./a.sock"))),
            "channel 3 has a relative path './a.sock'; a socket path must be absolute"
        );
        // A pty ignores its path, relative or not.
        console_nodes(1, &channel(Some("n"), 1, Some("relative")), 3, 0).unwrap();
        let pty = console_nodes(1, &channel(Some("n"), 1, Some("/ignored")), 3, 0).unwrap();
        assert_eq!(pty.frontend_ro[3], ("output", b"pty".to_vec()));
        assert!(pty.backend.iter().all(|(k, _)| *k != "path"));
    }
}
