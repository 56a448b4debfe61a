//! Channels in xenstore: writing a channel's console nodes, listing the channels of a domain
//! and reading one channel's state, with libxl 4.17's layout and results.
//!
//! Trust: the `/libxl/<domid>/...` copy and the backend directory are dom0's; the frontend
//! directory belongs to the guest, which may delete or rewrite any of it except the values
//! of the read-only keys. Only `getinfo` reads the frontend, for exactly the values libxl
//! reads there, and parses them as libxl does.

use super::console::{self, console_nodes, ConsoleNodes};
use super::model::{ChannelInfo, Connection, DeviceChannel};
use crate::error::{Error, Result};
use crate::xenstore::Txn;
use std::collections::BTreeSet;
use std::ffi::{CStr, CString};

/// Write one console's nodes in libxl's order: the libxl copy's pointers, the frontend
/// (directory, rw keys, ro keys, each with its permissions), the backend, and the copy of
/// the backend keys under the libxl path.
pub fn write_console(t: &Txn<'_>, nodes: &ConsoleNodes) -> Result<()> {
    let (fe, be, lx) = (
        nodes.frontend_path(),
        nodes.backend_path(),
        nodes.libxl_path(),
    );
    t.rm(&lx)?;
    t.write(&format!("{lx}/frontend"), fe.as_bytes())?;
    t.write(&format!("{lx}/backend"), be.as_bytes())?;

    t.rm(&fe)?;
    t.mkdir(&fe)?;
    t.set_perms(&fe, &nodes.frontend_perms())?;
    t.write(&format!("{fe}/backend"), be.as_bytes())?;
    for (keys, perms) in [
        (&nodes.frontend_rw, nodes.frontend_perms()),
        (&nodes.frontend_ro, nodes.frontend_ro_perms()),
    ] {
        for (key, value) in keys {
            let path = format!("{fe}/{key}");
            t.write(&path, value)?;
            t.set_perms(&path, &perms)?;
        }
    }

    t.rm(&be)?;
    t.mkdir(&be)?;
    t.set_perms(&be, &nodes.backend_perms())?;
    t.write(&format!("{be}/frontend"), fe.as_bytes())?;
    for dir in [&be, &lx] {
        for (key, value) in &nodes.backend {
            t.write(&format!("{dir}/{key}"), value)?;
        }
    }
    Ok(())
}

/// C's `strtoul(s, NULL, 10)` stored into an `int`, as libxl reads frontend numbers: leading
/// space, a sign, digits up to the first non-digit; overflow saturates, `-` negates modulo
/// 2^64, and the result is truncated to 32 bits.
pub fn strtoul_as_int(s: &[u8]) -> i32 {
    let mut i = s
        .iter()
        .take_while(|b| b" \t\n\x0b\x0c\r".contains(b))
        .count();
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut value: u64 = 0;
    let mut overflow = false;
    for &b in s[i..].iter().take_while(|b| b.is_ascii_digit()) {
        match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    let value = if overflow {
        u64::MAX
    } else if negative {
        value.wrapping_neg()
    } else {
        value
    };
    value as u32 as i32
}

/// The backend domid in `/local/domain/<N>/...`, parsed as libxl's `sscanf("%u%c")` does;
/// `None` when the path does not have that shape.
pub fn backend_path_domid(path: &[u8]) -> Option<u32> {
    let rest = path.strip_prefix(b"/local/domain/")?;
    let skip = rest
        .iter()
        .take_while(|b| b" \t\n\x0b\x0c\r".contains(b))
        .count();
    let signed = matches!(rest.get(skip), Some(b'+' | b'-')) as usize;
    let digits = rest[skip + signed..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || rest.get(skip + signed + digits) != Some(&b'/') {
        return None;
    }
    Some(strtoul_as_int(&rest[..skip + signed + digits]) as u32)
}

/// Resolve a backend domain given by number or by name (`/local/domain/*/name`), as
/// `libxl_domain_qualifier_to_domid` does: a string of digits only (even an empty one) is a
/// number.
pub fn resolve_domain(t: &Txn<'_>, qualifier: &CStr) -> Result<u32> {
    let q = qualifier.to_bytes();
    if q.iter().all(u8::is_ascii_digit) {
        return Ok(strtoul_as_int(q) as u32);
    }
    let mut domids: Vec<u32> = t
        .directory("/local/domain")?
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d.parse().ok())
        .collect();
    domids.sort_unstable();
    for domid in domids {
        if let Some(name) = t.read_c(&format!("/local/domain/{domid}/name"))? {
            if name.as_bytes() == q {
                return Ok(domid);
            }
        }
    }
    Err(Error::Invalid(format!(
        "unknown domain '{}'",
        qualifier.to_string_lossy()
    )))
}

fn require_domain(t: &Txn<'_>, domid: u32) -> Result<()> {
    match t.directory(&format!("/local/domain/{domid}"))? {
        Some(_) => Ok(()),
        None => Err(Error::DomainNotFound(format!(
            "domain {domid} does not exist"
        ))),
    }
}

/// Console devids in use for `domid`: in libxl's copy or as a frontend.
fn used_devids(t: &Txn<'_>, domid: u32) -> Result<BTreeSet<i32>> {
    let mut used = BTreeSet::new();
    for dir in [
        console::libxl_console_dir(domid),
        console::frontend_console_dir(domid),
    ] {
        for entry in t.directory(&dir)?.unwrap_or_default() {
            if let Ok(devid) = entry.parse::<i32>() {
                used.insert(devid);
            }
        }
    }
    Ok(used)
}

/// Validate, place and write channels of `domid` in one transaction. A channel with devid -1
/// takes `default_devid(i)`, or with `None` the first free console devid >= 1. Returns each
/// channel's (devid, backend domid).
fn add_channels(
    t: &Txn<'_>,
    domid: u32,
    channels: &[DeviceChannel],
    default_devid: Option<&dyn Fn(usize) -> i32>,
) -> Result<Vec<(i32, u32)>> {
    require_domain(t, domid)?;
    let mut used = used_devids(t, domid)?;
    let mut placed = Vec::with_capacity(channels.len());
    for (i, channel) in channels.iter().enumerate() {
        let devid = match (channel.devid, default_devid) {
            (-1, Some(default)) => default(i),
            (-1, None) => (1..)
                .find(|d| !used.contains(d))
                .expect("devids below i32::MAX are finite"),
            (devid, _) => devid,
        };
        let backend_domid = match &channel.backend_domname {
            Some(name) => resolve_domain(t, name)?,
            None => channel.backend_domid,
        };
        let nodes = console_nodes(domid, channel, devid, backend_domid)?;
        if !used.insert(devid) {
            return Err(Error::DeviceExists(format!(
                "domain {domid} already has console {devid}"
            )));
        }
        write_console(t, &nodes)?;
        placed.push((devid, backend_domid));
    }
    Ok(placed)
}

/// Hot-add one channel: devid -1 picks the first free console devid >= 1.
pub fn add(t: &Txn<'_>, domid: u32, channel: &DeviceChannel) -> Result<(i32, u32)> {
    Ok(add_channels(t, domid, std::slice::from_ref(channel), None)?[0])
}

/// Hot-add several channels at once (all or none): each with devid -1 takes the first
/// console devid >= 1 still free, in order.
pub fn add_all(t: &Txn<'_>, domid: u32, channels: &[DeviceChannel]) -> Result<Vec<(i32, u32)>> {
    add_channels(t, domid, channels, None)
}

/// Domain creation: channel i with devid -1 becomes console i+1, so the primary console 0
/// is never taken (libxl 4.17 used i here and lost the first channel).
pub fn add_at_create(
    t: &Txn<'_>,
    domid: u32,
    channels: &[DeviceChannel],
) -> Result<Vec<(i32, u32)>> {
    add_channels(t, domid, channels, Some(&console::devid_at_create))
}

/// The channel recorded in libxl's copy at `path` (one console's directory), as libxl's list
/// reads it: `None` for a console without a `name` (not a channel); a `connection` other
/// than pty or socket is an error.
fn read_channel(t: &Txn<'_>, path: &str) -> Result<Option<DeviceChannel>> {
    let Some(name) = t.read_c(&format!("{path}/name"))? else {
        return Ok(None);
    };
    let mut channel = DeviceChannel {
        name: Some(name),
        ..DeviceChannel::default()
    };
    let connection = t.read_c(&format!("{path}/connection"))?;
    match connection.as_ref().map(|c| c.as_bytes()) {
        Some(b"pty") => channel.connection = Connection::Pty as i32,
        Some(b"socket") => {
            channel.connection = Connection::Socket as i32;
            channel.socket_path = t.read_c(&format!("{path}/path"))?;
        }
        other => {
            return Err(Error::Invalid(format!(
                "{path}/connection is {}: not pty or socket",
                other.map_or("missing".into(), |c| format!(
                    "'{}'",
                    String::from_utf8_lossy(c)
                ))
            )))
        }
    }
    Ok(Some(channel))
}

/// libxl 4.17's channel list: the consoles in libxl's copy that have a `name`, in
/// xenstored's directory order, numbered 0, 1, 2... (so list entry k is console k+1 when the
/// consoles are 1..n). A console with a bad `connection` fails the whole list.
pub fn list(t: &Txn<'_>, domid: u32) -> Result<Vec<DeviceChannel>> {
    let dir = console::libxl_console_dir(domid);
    let mut channels = Vec::new();
    for entry in t.directory(&dir)?.unwrap_or_default() {
        if let Some(mut channel) = read_channel(t, &format!("{dir}/{entry}"))? {
            channel.devid = i32::try_from(channels.len()).unwrap_or(i32::MAX);
            channels.push(channel);
        }
    }
    Ok(channels)
}

/// The same channels as [`list`], but each with its console devid (the name of its
/// directory) rather than a list number, in devid order: what the device model needs, since
/// a console's `output=chardev:libxl-channel<devid>` names its chardev. A named entry
/// whose name is not a devid is an error.
pub fn list_by_console(t: &Txn<'_>, domid: u32) -> Result<Vec<DeviceChannel>> {
    let dir = console::libxl_console_dir(domid);
    let mut channels = Vec::new();
    for entry in t.directory(&dir)?.unwrap_or_default() {
        let path = format!("{dir}/{entry}");
        if let Some(mut channel) = read_channel(t, &path)? {
            channel.devid = entry
                .parse()
                .map_err(|_| Error::Invalid(format!("{path} is not a console devid")))?;
            channels.push(channel);
        }
    }
    channels.sort_by_key(|c| c.devid);
    Ok(channels)
}

/// How much of a `libxl_channelinfo` getinfo has filled in, for the C layer to mirror
/// libxl's partial results on failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filled {
    Devid,
    DevidAndBackend,
    All,
}

/// libxl 4.17's getinfo for the channel with list number `channel.devid` (console
/// devid + 1). The frontend's `state`, `ring-ref` and `port` are guest-written: read with
/// `strtoul` into an int as libxl does, -1 when missing. The pty path comes from the
/// frontend's read-only `tty` key, "/NO-SUCH-PATH" when missing.
pub fn getinfo(
    t: &Txn<'_>,
    domid: u32,
    channel: &DeviceChannel,
) -> (ChannelInfo, Filled, Result<()>) {
    let mut info = ChannelInfo {
        devid: channel.devid,
        ..ChannelInfo::default()
    };
    let console = channel.devid.wrapping_add(1);
    let (fe, lx) = (
        console::frontend_path(domid, console),
        console::libxl_path(domid, console),
    );
    let backend = match t.read_c(&format!("{lx}/backend")) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return (
                info,
                Filled::Devid,
                Err(Error::Fail(format!("{lx}/backend does not exist"))),
            )
        }
        Err(e) => return (info, Filled::Devid, Err(e)),
    };
    let backend_id = backend_path_domid(backend.as_bytes());
    info.backend = Some(backend);
    let Some(backend_id) = backend_id else {
        let e = Error::Fail(format!(
            "backend path {} unparseable",
            info.backend.as_ref().expect("set above").to_string_lossy()
        ));
        return (info, Filled::DevidAndBackend, Err(e));
    };
    info.backend_id = backend_id;
    let frontend_int = |key: &str| -> Result<i32> {
        Ok(t.read_c(&format!("{fe}/{key}"))?
            .map_or(-1, |v| strtoul_as_int(v.as_bytes())))
    };
    let rest = (|| {
        info.state = frontend_int("state")?;
        info.rref = frontend_int("ring-ref")?;
        info.evtch = frontend_int("port")?;
        info.frontend = Some(CString::new(fe.clone()).expect("paths have no NUL"));
        info.frontend_id = domid;
        info.connection = channel.connection;
        if channel.connection() == Some(Connection::Pty) {
            let tty = t.read_c(&format!("{fe}/tty"))?;
            info.pty_path = Some(tty.unwrap_or_else(|| c"/NO-SUCH-PATH".to_owned()));
        }
        Ok(())
    })();
    match rest {
        Ok(()) => (info, Filled::All, Ok(())),
        Err(e) => (info, Filled::DevidAndBackend, Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoul_matches_c() {
        assert_eq!(strtoul_as_int(b"4"), 4);
        assert_eq!(strtoul_as_int(b"  12abc"), 12);
        assert_eq!(strtoul_as_int(b"abc"), 0);
        assert_eq!(strtoul_as_int(b""), 0);
        assert_eq!(strtoul_as_int(b"-1"), -1);
        assert_eq!(strtoul_as_int(b"+7"), 7);
        assert_eq!(strtoul_as_int(b"4294967296"), 0);
        assert_eq!(strtoul_as_int(b"4294967295"), -1);
        assert_eq!(strtoul_as_int(b"2147483648"), i32::MIN);
        assert_eq!(strtoul_as_int(b"99999999999999999999999"), -1);
        assert_eq!(strtoul_as_int(b"-99999999999999999999999"), -1);
    }

    #[test]
    fn backend_paths_parse_like_sscanf() {
        assert_eq!(
            backend_path_domid(b"/local/domain/0/backend/console/5/1"),
            Some(0)
        );
        assert_eq!(backend_path_domid(b"/local/domain/ 17/x"), Some(17));
        assert_eq!(backend_path_domid(b"/local/domain/17"), None);
        assert_eq!(backend_path_domid(b"/local/domain/x/"), None);
        assert_eq!(backend_path_domid(b"/local/domains/1/"), None);
        assert_eq!(backend_path_domid(b"/local/domain/-1/"), Some(u32::MAX));
    }
}
