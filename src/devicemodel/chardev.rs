//! The qemu `-chardev` arguments of a domain's channels. qemu's console backend finds channel
//! N's character device by the id the console's `output` node names (`chardev:libxl-channelN`),
//! so the ids use the console devids `channel::console` gives the channels.

use crate::channel::console::{chardev_id, check_devid, checked_connection, devid_at_create};
use crate::channel::{Connection, DeviceChannel};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::ffi::CString;

/// A unix socket address holds 108 bytes of path including the NUL; qemu refuses longer
/// paths when it starts.
pub const MAX_SOCKET_PATH: usize = 107;

/// A value inside a qemu option string: options are separated by ',' and a value spells a
/// comma as ",," (so a path cannot end the value early and add options of its own).
pub fn qemu_opt_value(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        out.push(b);
        if b == b',' {
            out.push(b',');
        }
    }
    out
}

/// The `-chardev` option value for a channel whose console devid is `devid`.
fn chardev_spec(channel: &DeviceChannel, devid: i32) -> Result<Vec<u8>> {
    let id = chardev_id(devid);
    match checked_connection(channel, devid)? {
        Connection::Pty => Ok(format!("pty,id={id}").into_bytes()),
        Connection::Socket => {
            let path = channel
                .socket_path
                .as_ref()
                .expect("checked_connection requires a path")
                .as_bytes();
            if path.is_empty() {
                return Err(Error::Invalid(format!("channel {devid} has an empty path")));
            }
            if path.len() > MAX_SOCKET_PATH {
                return Err(Error::Invalid(format!(
                    "channel {devid} has a path of {} bytes; a unix socket path has at most {MAX_SOCKET_PATH}",
                    path.len()
                )));
            }
            let mut spec = format!("socket,id={id},path=").into_bytes();
            spec.extend(qemu_opt_value(path));
            spec.extend_from_slice(b",server=on,wait=off");
            Ok(spec)
        }
        Connection::Unknown => unreachable!("checked_connection rejects unknown"),
    }
}

/// The arguments that give each channel its qemu chardev: `-chardev SPEC` per channel, in
/// configuration order. Channel i with devid -1 is console i+1, as at domain creation; two
/// channels on one console, console 0, an unknown connection or a socket without a usable
/// path are invalid.
pub fn chardev_args(channels: &[DeviceChannel]) -> Result<Vec<CString>> {
    let mut args = Vec::with_capacity(2 * channels.len());
    let mut seen = BTreeMap::new();
    for (i, channel) in channels.iter().enumerate() {
        let devid = match channel.devid {
            -1 => devid_at_create(i),
            devid => devid,
        };
        check_devid(devid)?;
        if let Some(first) = seen.insert(devid, i) {
            return Err(Error::Invalid(format!(
                "channels {first} and {i} both use console {devid}"
            )));
        }
        let spec = chardev_spec(channel, devid)?;
        args.push(c"-chardev".to_owned());
        args.push(CString::new(spec).expect("built from NUL-free strings"));
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(devid: i32, connection: Connection, path: Option<&str>) -> DeviceChannel {
        DeviceChannel {
            devid,
            name: Some(c"org.example".to_owned()),
            connection: connection as i32,
            socket_path: path.map(|p| CString::new(p).unwrap()),
            ..DeviceChannel::default()
        }
    }

    fn strings(args: Vec<CString>) -> Vec<String> {
        args.into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn pty_and_socket_specs() {
        let args = chardev_args(&[
            channel(-1, Connection::Pty, None),
            channel(-1, Connection::Socket, Some("/run/a,b c")),
            channel(7, Connection::Socket, Some("/run/x")),
        ])
        .unwrap();
        assert_eq!(
            strings(args),
            [
                "-chardev",
                "pty,id=libxl-channel1",
                "-chardev",
                "socket,id=libxl-channel2,path=/run/a,,b c,server=on,wait=off",
                "-chardev",
                "socket,id=libxl-channel7,path=/run/x,server=on,wait=off",
            ]
        );
        assert!(chardev_args(&[]).unwrap().is_empty());
    }

    #[test]
    fn commas_are_doubled() {
        assert_eq!(qemu_opt_value(b",a,,b,"), b",,a,,,,b,,");
        assert_eq!(qemu_opt_value(b"plain"), b"plain");
    }

    #[test]
    fn invalid_channels() {
        let msg = |c: &[DeviceChannel]| chardev_args(c).unwrap_err().to_string();
        assert_eq!(
            msg(&[channel(-1, Connection::Socket, None)]),
            "channel 1 has no path"
        );
        assert_eq!(
            msg(&[channel(3, Connection::Unknown, None)]),
            "channel 3 has no defined connection; to where should it be connected?"
        );
        let mut bad = channel(2, Connection::Pty, None);
        bad.connection = 9;
        assert_eq!(msg(&[bad]), "channel 2 has an invalid connection value 9");
        assert_eq!(
            msg(&[channel(2, Connection::Socket, Some(""))]),
            "channel 2 has an empty path"
        );
        let long = format!("/{}", "a".repeat(MAX_SOCKET_PATH));
        assert_eq!(
            msg(&[channel(2, Connection::Socket, Some(&long))]),
            "channel 2 has a path of 108 bytes; a unix socket path has at most 107"
        );
        let longest = format!("/{}", "a".repeat(MAX_SOCKET_PATH - 1));
        assert!(chardev_args(&[channel(2, Connection::Socket, Some(&longest))]).is_ok());
        assert_eq!(
            msg(&[channel(0, Connection::Pty, None)]),
            "channel devid 0: console 0 is the primary console, channels use devid 1 and up"
        );
        assert_eq!(
            msg(&[
                channel(-1, Connection::Pty, None),
                channel(1, Connection::Pty, None)
            ]),
            "channels 0 and 1 both use console 1"
        );
    }
}
