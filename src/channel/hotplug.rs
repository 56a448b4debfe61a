//! Hotplug: channels added to a running domain also get their character devices in the
//! domain's device model, before their xenstore nodes appear, so a socket channel listens
//! the moment the add returns. All or nothing: a chardev whose nodes cannot be written is
//! removed again, and nothing is written when a chardev cannot be made.
//!
//! Only channels served by the local domain (this toolstack's) concern its device model,
//! which is found at libxl's QMP socket ([`qmp::socket_path`]). Such a channel added to a
//! domain without that socket would have nobody to serve it, so the add fails and writes
//! nothing; channels served by other domains (driver domains) get their xenstore nodes
//! only. Domain creation, whose device model starts after the nodes, writes them through
//! `store` directly.

use super::console::{self, chardev_id, checked_connection};
use super::model::{Connection, DeviceChannel};
use super::store;
use crate::devicemodel::need::{own_domid, OWN_DOMID_PATH};
use crate::devicemodel::qmp::{self, ChardevBackend, Qmp};
use crate::error::{Error, Result};
use crate::xenstore::{Txn, XenStore};
use std::ffi::CString;

/// The local domain: the own `domid` key, or libxl's toolstack domain 0 when there is none.
pub fn local_domid(t: &Txn<'_>) -> Result<u32> {
    if t.read(OWN_DOMID_PATH)?.is_none() {
        return Ok(0);
    }
    own_domid(t)
}

/// The chardev backend a channel's `-chardev` argument describes.
pub fn chardev_backend(channel: &DeviceChannel, devid: i32) -> Result<ChardevBackend> {
    Ok(match checked_connection(channel, devid)? {
        Connection::Socket => ChardevBackend::Socket(
            channel
                .socket_path
                .clone()
                .expect("checked_connection requires a path"),
        ),
        _ => ChardevBackend::Pty,
    })
}

/// A chardev made for a channel: its id, and for a pty the pty qemu opened.
struct Made {
    devid: i32,
    id: String,
    pty: Option<CString>,
}

/// Remove chardevs made earlier; the ones qemu refuses to remove are named in the result.
fn undo(qmp: &mut Qmp, made: &[Made]) -> String {
    let mut left = Vec::new();
    for m in made.iter().rev() {
        if let Err(e) = qmp.chardev_remove(&m.id) {
            left.push(format!("{} ({e})", m.id));
        }
    }
    let ids: Vec<&str> = made.iter().map(|m| m.id.as_str()).collect();
    if left.is_empty() {
        format!("chardev {} removed again", ids.join(", "))
    } else {
        format!("could not remove chardev {} again", left.join(", "))
    }
}

/// How often a hotplug whose auto-placed devid another writer took meanwhile starts again.
const PLACEMENT_ATTEMPTS: u32 = 8;

/// Hot-add `channels` to `domid` (all or none): each with devid -1 takes the first free
/// console devid >= 1, in order. Channels served by the local domain get their chardevs in
/// the domain's device model first; when the domain has no QMP socket, such an add fails
/// with [`Error::Fail`] after every channel is validated and placed, and nothing is
/// written. Returns each channel's (devid, backend domid).
pub fn add_all(
    store: &XenStore,
    domid: u32,
    channels: &[DeviceChannel],
) -> Result<Vec<(i32, u32)>> {
    let socket = qmp::socket_path(domid);
    // Channels that name their backends by number and all have another domain's need no
    // device model and no planning pass of their own: store::add_all validates and places.
    let local = local_domid(&store.plain()?)?;
    if channels
        .iter()
        .all(|c| c.backend_domname.is_none() && c.backend_domid != local)
    {
        return store::add_all(store, None, domid, channels);
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (placed, local) =
            store.transaction(|t| Ok((store::place(t, domid, channels)?, local_domid(t)?)))?;
        let Some(first_local) = placed.iter().position(|&(_, backend)| backend == local) else {
            // Served by other domains only: their nodes are all this toolstack writes.
            return store::add_all(store, None, domid, channels);
        };
        if socket.symlink_metadata().is_err() {
            return Err(no_device_model(domid, &socket, &channels[first_local]));
        }
        match add_with_device_model(store, domid, channels, &placed, local, &socket) {
            // Another writer took an auto-placed devid between the plan and the write (the
            // chardevs are gone again): place anew.
            Err(Retry::Placement(e)) if attempt < PLACEMENT_ATTEMPTS => drop(e),
            Err(Retry::Placement(e) | Retry::No(e)) => return Err(e),
            Ok(placed) => return Ok(placed),
        }
    }
}

/// The strict rule's error: a local channel of a domain whose device model cannot be told.
fn no_device_model(domid: u32, socket: &std::path::Path, channel: &DeviceChannel) -> Error {
    let name = channel.name.as_ref().map_or_else(String::new, |n| {
        String::from_utf8_lossy(n.as_bytes()).into_owned()
    });
    Error::Fail(format!(
        "domain {domid} has no running device model (no QMP socket at {}): channel '{name}' would have no backend",
        socket.display()
    ))
}

enum Retry {
    Placement(Error),
    No(Error),
}

fn add_with_device_model(
    store: &XenStore,
    domid: u32,
    channels: &[DeviceChannel],
    placed: &[(i32, u32)],
    local: u32,
    socket: &std::path::Path,
) -> std::result::Result<Vec<(i32, u32)>, Retry> {
    // The devids are fixed now, so the nodes name the chardevs made below.
    let fixed: Vec<DeviceChannel> = channels
        .iter()
        .zip(placed)
        .map(|(c, &(devid, _))| DeviceChannel { devid, ..c.clone() })
        .collect();
    let mut qmp = Qmp::connect(socket).map_err(|e| {
        Retry::No(e.context(&format!(
            "hotplug into the device model of domain {domid} (nothing was added)"
        )))
    })?;
    let mut made = Vec::new();
    for (channel, _) in fixed
        .iter()
        .zip(placed)
        .filter(|(_, &(_, backend))| backend == local)
    {
        let id = chardev_id(channel.devid);
        let added = chardev_backend(channel, channel.devid)
            .and_then(|backend| qmp.chardev_add(&id, &backend));
        match added {
            Ok(pty) => made.push(Made {
                devid: channel.devid,
                id,
                pty,
            }),
            Err(e) => {
                let undone = if made.is_empty() {
                    String::new()
                } else {
                    format!("; {}", undo(&mut qmp, &made))
                };
                return Err(Retry::No(e.context(&format!(
                    "hotplug step chardev-add {id} (nothing written to xenstore{undone})"
                ))));
            }
        }
    }
    let written = store.transaction(|t| {
        // In `t` itself, so a conflict met inside restarts this transaction.
        let placed = store::add_all_in(t, domid, &fixed)?;
        // What a Xen-aware qemu does for a pty console: record the pty for getinfo.
        for m in &made {
            if let Some(pty) = &m.pty {
                let tty = format!("{}/tty", console::frontend_path(domid, m.devid));
                t.write(&tty, pty.as_bytes())?;
            }
        }
        Ok(placed)
    });
    written.map_err(|e| {
        let auto_placed = channels.iter().any(|c| c.devid == -1);
        let e = if made.is_empty() {
            e
        } else {
            e.context(&format!(
                "hotplug step writing the xenstore nodes ({})",
                undo(&mut qmp, &made)
            ))
        };
        match e {
            Error::DeviceExists(_) if auto_placed => Retry::Placement(e),
            e => Retry::No(e),
        }
    })
}

/// Hot-add one channel; see [`add_all`].
pub fn add(store: &XenStore, domid: u32, channel: &DeviceChannel) -> Result<(i32, u32)> {
    Ok(add_all(store, domid, std::slice::from_ref(channel))?[0])
}
