//! Channels in xenstore: writing a channel's console nodes, listing the channels of a domain
//! and reading one channel's state, with libxl 4.17's layout and results.
//!
//! Trust: the `/libxl/<domid>/...` copy and the backend directory are dom0's; the frontend
//! directory belongs to the guest, which may delete or rewrite any of it except the values
//! of the read-only keys. Only `getinfo` reads the frontend, for exactly the values libxl
//! reads there, and parses them as libxl does.

use super::console::{self, console_nodes, ConsoleNodes};
use super::names;
use super::model::{ChannelInfo, Connection, DeviceChannel};
use crate::error::{Error, Result};
use crate::xenstore::{Txn, XenStore, XsTransaction};
use std::collections::BTreeSet;
use std::ffi::{CStr, CString};

/// Write one console's nodes over nodes that do not exist yet: the libxl copy's pointers,
/// the frontend, the backend, and the copy of the backend keys under the libxl path. A new
/// node takes its parent's permissions, so the frontend directory is given the read-only
/// keys' permissions while they are written and its own afterwards, for the guest-writable
/// keys; only the directories get permissions of their own (libxl sets them on every
/// frontend key; the result is the same, at a fifth of the requests). Inside a transaction
/// nobody sees the intermediate permissions.
fn write_new_console(t: &Txn<'_>, nodes: &ConsoleNodes) -> Result<()> {
    let (fe, be, lx) = (
        nodes.frontend_path(),
        nodes.backend_path(),
        nodes.libxl_path(),
    );
    t.write(&format!("{lx}/frontend"), fe.as_bytes())?;
    t.write(&format!("{lx}/backend"), be.as_bytes())?;

    t.mkdir(&fe)?;
    t.set_perms(&fe, &nodes.frontend_ro_perms())?;
    for (key, value) in &nodes.frontend_ro {
        t.write(&format!("{fe}/{key}"), value)?;
    }
    t.set_perms(&fe, &nodes.frontend_perms())?;
    t.write(&format!("{fe}/backend"), be.as_bytes())?;
    for (key, value) in &nodes.frontend_rw {
        t.write(&format!("{fe}/{key}"), value)?;
    }

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

/// Whether the console `nodes` would take is free inside `t`: neither a libxl copy nor a
/// frontend exists for it. A stale backend directory of it is removed, as libxl does.
fn claim_console(t: &Txn<'_>, nodes: &ConsoleNodes) -> Result<bool> {
    if t.read(&nodes.libxl_path())?.is_some() || t.read(&nodes.frontend_path())?.is_some() {
        return Ok(false);
    }
    t.rm(&nodes.backend_path())?;
    Ok(true)
}

/// Remove a console's nodes (libxl copy, frontend, backend).
fn remove_console(t: &Txn<'_>, nodes: &ConsoleNodes) -> Result<()> {
    t.rm(&nodes.libxl_path())?;
    t.rm(&nodes.frontend_path())?;
    t.rm(&nodes.backend_path())
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

/// The consoles a domain has, as an add needs to know them.
#[derive(Debug, Default)]
struct Consoles {
    /// Console devids in use: in libxl's copy or as a frontend.
    used: BTreeSet<i32>,
    /// The name index covers every channel (see [`names`]), so names are looked up there.
    indexed: bool,
    /// Without the index: every channel's name in libxl's copy, with its console devid, for
    /// the add that makes the index.
    names: Vec<(Vec<u8>, i32)>,
}

fn devids_in(t: &Txn<'_>, dir: &str) -> Result<Vec<String>> {
    Ok(t.directory(dir)?.unwrap_or_default())
}

/// The name of the channel recorded at `entry` of libxl's copy, if it is one.
fn channel_name(t: &Txn<'_>, domid: u32, entry: &str) -> Result<Option<(Vec<u8>, i32)>> {
    let Ok(devid) = entry.parse::<i32>() else {
        return Ok(None);
    };
    let name = t.read_c(&format!(
        "{}/{entry}/name",
        console::libxl_console_dir(domid)
    ))?;
    Ok(name.map(|n| (n.into_bytes(), devid)))
}

fn consoles_name(nodes: &ConsoleNodes) -> &[u8] {
    nodes
        .backend
        .iter()
        .find(|(k, _)| *k == "name")
        .map_or(&[][..], |(_, v)| v.as_slice())
}

/// The devids in use, and the channels' names only when the name index does not cover
/// them yet (once per domain): a constant number of requests otherwise.
fn consoles(t: &Txn<'_>, domid: u32) -> Result<Consoles> {
    let libxl_entries = devids_in(t, &console::libxl_console_dir(domid))?;
    let frontends = devids_in(t, &console::frontend_console_dir(domid))?;
    let used = libxl_entries
        .iter()
        .chain(&frontends)
        .filter_map(|e| e.parse::<i32>().ok())
        .collect();
    let indexed = names::is_complete(t, domid)?;
    let mut named = Vec::new();
    if !indexed {
        for entry in &libxl_entries {
            named.extend(channel_name(t, domid, entry)?);
        }
    }
    Ok(Consoles {
        used,
        indexed,
        names: named,
    })
}

/// The console of `domid` that already holds a channel named `name`.
fn existing_holder(t: &Txn<'_>, domid: u32, existing: &Consoles, name: &[u8]) -> Result<Option<i32>> {
    if existing.indexed {
        return names::holder(t, domid, name);
    }
    Ok(existing
        .names
        .iter()
        .find(|(n, _)| n == name)
        .map(|&(_, devid)| devid))
}

/// Where channels without a devid go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// Hot add: the first console devid >= 1 still free, in order.
    FirstFree,
    /// Domain creation: channel i becomes console i+1, so the primary console 0 is never
    /// taken (libxl 4.17 used i here and lost the first channel).
    AtCreate,
}

/// One channel of an add, validated and placed.
struct Planned<'c> {
    channel: &'c DeviceChannel,
    /// The caller chose the devid (else it may move to another free one).
    fixed: bool,
    nodes: ConsoleNodes,
}

fn name_text(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// Validate and place every channel (libxl's checks and messages), refusing a devid or a
/// name the domain already has or that two of the channels share. Nothing is written.
fn plan<'c>(
    t: &Txn<'_>,
    domid: u32,
    channels: &'c [DeviceChannel],
    placement: Placement,
    existing: &Consoles,
) -> Result<Vec<Planned<'c>>> {
    let mut used = existing.used.clone();
    let mut names: Vec<(Vec<u8>, i32)> = Vec::with_capacity(channels.len());
    let mut backends: Vec<(&CStr, u32)> = Vec::new();
    let mut planned = Vec::with_capacity(channels.len());
    for (i, channel) in channels.iter().enumerate() {
        let devid = match (channel.devid, placement) {
            (-1, Placement::AtCreate) => console::devid_at_create(i),
            (-1, Placement::FirstFree) => (1..)
                .find(|d| !used.contains(d))
                .expect("devids below i32::MAX are finite"),
            (devid, _) => devid,
        };
        let backend_domid = match &channel.backend_domname {
            Some(name) => match backends.iter().find(|(n, _)| *n == name.as_c_str()) {
                Some(&(_, d)) => d,
                None => {
                    let d = resolve_domain(t, name)?;
                    backends.push((name, d));
                    d
                }
            },
            None => channel.backend_domid,
        };
        let nodes = console_nodes(domid, channel, devid, backend_domid)?;
        if !used.insert(devid) {
            return Err(Error::DeviceExists(format!(
                "domain {domid} already has console {devid}"
            )));
        }
        let name = channel.name.as_ref().expect("validated").as_bytes();
        if let Some(other) = existing_holder(t, domid, existing, name)? {
            return Err(Error::Invalid(format!(
                "domain {domid} already has a channel named '{}' (console {other})",
                name_text(name)
            )));
        }
        if let Some((_, other)) = names.iter().find(|(n, _)| n == name) {
            return Err(Error::Invalid(format!(
                "channel name '{}' is given twice (consoles {other} and {devid})",
                name_text(name)
            )));
        }
        names.push((name.to_vec(), devid));
        planned.push(Planned {
            channel,
            fixed: channel.devid != -1 || placement == Placement::AtCreate,
            nodes,
        });
    }
    Ok(planned)
}

/// Write one planned channel inside `t`: its console must still be free, and its name
/// still nobody's (the index entry is read in `t`, so a concurrent add of the name
/// conflicts with this one). The index is made first if the domain has none yet.
fn write_planned(t: &Txn<'_>, domid: u32, nodes: &ConsoleNodes, existing: &Consoles) -> Result<()> {
    if !existing.indexed {
        names::make_if_missing(t, domid, &existing.names)?;
    }
    let name = consoles_name(nodes);
    if let Err(other) = names::insert(t, domid, name, nodes.devid)? {
        return Err(Error::Invalid(format!(
            "domain {domid} already has a channel named '{}' (console {other}, added concurrently)",
            name_text(name)
        )));
    }
    write_new_console(t, nodes)
}

/// Add channels inside the caller's transaction `t` (which the caller commits): all or
/// none, with the caller's commit.
fn add_within(
    t: &Txn<'_>,
    domid: u32,
    channels: &[DeviceChannel],
    placement: Placement,
) -> Result<Vec<(i32, u32)>> {
    require_domain(t, domid)?;
    let mut existing = consoles(t, domid)?;
    let planned = plan(t, domid, channels, placement, &existing)?;
    for p in &planned {
        if !claim_console(t, &p.nodes)? {
            return Err(Error::DeviceExists(format!(
                "domain {domid} already has console {}",
                p.nodes.devid
            )));
        }
        write_planned(t, domid, &p.nodes, &existing)?;
        existing.indexed = true;
    }
    Ok(planned
        .iter()
        .map(|p| (p.nodes.devid, p.nodes.backend_domid))
        .collect())
}

/// Add channels with transactions of our own, one per channel, so that xenstored's cost
/// stays linear in the number of channels: each channel's nodes appear at once, and the
/// whole add is all or none by compensation: when one channel cannot be written, those
/// already written are removed again. Reads (the domain, its consoles, backend names, the
/// name index) are plain; each channel's transaction checks that its console and its name
/// are still free, and a channel without a devid of its own moves to the next free console
/// when a concurrent writer took it.
fn add_own(
    xs: &XenStore,
    domid: u32,
    channels: &[DeviceChannel],
    placement: Placement,
) -> Result<Vec<(i32, u32)>> {
    let plain = xs.plain()?;
    require_domain(&plain, domid)?;
    let mut existing = consoles(&plain, domid)?;
    let mut planned = plan(&plain, domid, channels, placement, &existing)?;
    let mut written: Vec<ConsoleNodes> = Vec::with_capacity(planned.len());
    // The devids this add has placed channels on, written or not yet.
    let mut reserved: BTreeSet<i32> = planned.iter().map(|p| p.nodes.devid).collect();
    for p in &mut planned {
        // Consoles found taken by other writers since the plan was made.
        let mut taken: BTreeSet<i32> = BTreeSet::new();
        let outcome = xs.transaction(|t| {
            // What the transaction reads before it writes, in one round trip.
            let (libxl, frontend, backend) = (p.nodes.libxl_path(), p.nodes.frontend_path(), p.nodes.backend_path());
            let (index, entry) = (names::index_dir(domid), names::entry_path(domid, consoles_name(&p.nodes)));
            let mut ahead = vec![libxl.as_str(), frontend.as_str(), backend.as_str(), entry.as_str()];
            if !existing.indexed {
                ahead.insert(3, index.as_str());
            }
            t.prefetch(&ahead)?;
            // A console taken meanwhile: a channel without a devid of its own moves on to
            // the next free one, inside the same transaction.
            while !claim_console(t, &p.nodes)? {
                if p.fixed {
                    return Err(Error::DeviceExists(format!(
                        "domain {domid} already has console {}",
                        p.nodes.devid
                    )));
                }
                taken.insert(p.nodes.devid);
                let devid = (p.nodes.devid..)
                    .find(|d| {
                        !existing.used.contains(d) && !reserved.contains(d) && !taken.contains(d)
                    })
                    .expect("devids below i32::MAX are finite");
                reserved.remove(&p.nodes.devid);
                reserved.insert(devid);
                p.nodes = console_nodes(domid, p.channel, devid, p.nodes.backend_domid)?;
            }
            write_planned(t, domid, &p.nodes, &existing)
        });
        if let Err(e) = outcome {
            return Err(withdraw(xs, &written, e));
        }
        existing.indexed = true;
        written.push(p.nodes.clone());
    }
    Ok(written.iter().map(|n| (n.devid, n.backend_domid)).collect())
}

/// Undo the channels of a failed add; `cause` is why it failed. Not tried when xenstored
/// stopped answering (the removal would wait as long again); the error then names what is
/// left behind.
fn withdraw(xs: &XenStore, written: &[ConsoleNodes], cause: Error) -> Error {
    if written.is_empty() {
        return cause;
    }
    let devids = || {
        written
            .iter()
            .map(|n| n.devid.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if matches!(cause, Error::TimedOut(_)) {
        let message = format!(
            "{cause}; the channels already written (consoles {}) could not be removed",
            devids()
        );
        return Error::TimedOut(message);
    }
    for nodes in written {
        let removed = xs.transaction(|t| {
            remove_console(t, nodes)?;
            names::remove(t, nodes.domid, consoles_name(nodes), nodes.devid)
        });
        if let Err(e) = removed {
            let message = format!(
                "{cause}; removing the channels already written (consoles {}) failed: {e}",
                devids()
            );
            return match cause {
                Error::TimedOut(_) => Error::TimedOut(message),
                _ => Error::Fail(message),
            };
        }
    }
    cause
}

/// Hot-add one channel: devid -1 picks the first free console devid >= 1. `t` is the
/// caller's transaction, or `None` for transactions of our own.
pub fn add(
    xs: &XenStore,
    t: Option<XsTransaction>,
    domid: u32,
    channel: &DeviceChannel,
) -> Result<(i32, u32)> {
    Ok(add_all(xs, t, domid, std::slice::from_ref(channel))?[0])
}

/// Hot-add several channels at once (all or none): each with devid -1 takes the first
/// console devid >= 1 still free, in order.
pub fn add_all(
    xs: &XenStore,
    t: Option<XsTransaction>,
    domid: u32,
    channels: &[DeviceChannel],
) -> Result<Vec<(i32, u32)>> {
    add_placed(xs, t, domid, channels, Placement::FirstFree)
}

/// Hot-add several channels inside a transaction of our own that `t` is (the caller's
/// `XenStore::transaction` commits it and restarts it when a request in it meets a
/// conflicting writer): as [`add_all`] in a caller's transaction.
pub fn add_all_in(t: &Txn<'_>, domid: u32, channels: &[DeviceChannel]) -> Result<Vec<(i32, u32)>> {
    add_within(t, domid, channels, Placement::FirstFree)
}

/// Domain creation: channel i with devid -1 becomes console i+1, so the primary console 0
/// is never taken (libxl 4.17 used i here and lost the first channel).
pub fn add_at_create(
    xs: &XenStore,
    t: Option<XsTransaction>,
    domid: u32,
    channels: &[DeviceChannel],
) -> Result<Vec<(i32, u32)>> {
    add_placed(xs, t, domid, channels, Placement::AtCreate)
}

/// In the caller's transaction `t`, or (`None`) in transactions of our own.
fn add_placed(
    xs: &XenStore,
    t: Option<XsTransaction>,
    domid: u32,
    channels: &[DeviceChannel],
    placement: Placement,
) -> Result<Vec<(i32, u32)>> {
    match t {
        Some(t) => add_within(&xs.within(t), domid, channels, placement),
        None => add_own(xs, domid, channels, placement),
    }
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

/// Where a hot add would put `channels`, each with devid -1 on the first free console devid
/// from 1 up, in order: validated with every check of [`add_all`] (the domain, libxl's
/// checks, devids and names taken, backend domain names) without writing. Each channel's
/// (devid, backend domid).
pub fn place(t: &Txn<'_>, domid: u32, channels: &[DeviceChannel]) -> Result<Vec<(i32, u32)>> {
    require_domain(t, domid)?;
    let existing = consoles(t, domid)?;
    let planned = plan(t, domid, channels, Placement::FirstFree, &existing)?;
    Ok(planned
        .iter()
        .map(|p| (p.nodes.devid, p.nodes.backend_domid))
        .collect())
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
