//! The name index: which console of a domain holds the channel of a given name, found in a
//! constant number of requests however many channels the domain has.
//!
//! libxl keeps no such index and never checks names; xlchannel refuses a second channel
//! with a name the domain already has, which without an index means reading every
//! channel's name on every add. The index lives beside libxl's copy of the consoles, so it
//! goes with the domain's `/libxl/<domid>` directory:
//!
//! ```text
//! /libxl/<domid>/channel-names/<hh>/<hhhhhhhhhhhhhh> = "<devid> <devid>..."
//! ```
//!
//! The two components are the 64-bit FNV-1a hash of the name in hex (any bytes and any
//! length fit into a path that way), split so that no directory grows with the number of
//! channels: xenstored rewrites a whole directory record whenever a child is added, at a
//! cost that grows with its size. The value lists the consoles whose names have that hash,
//! so a collision costs one more read, never a wrong answer: a console is the name's
//! holder only when libxl's copy records that name for it. The `channel-names` directory
//! exists once the index covers every channel of the domain. Consoles that another
//! toolstack wrote before it existed (Debian's libxl at domain creation) are indexed by the
//! first add that finds it missing.
//!
//! Every write that adds or removes a channel updates its entry in the same transaction,
//! and reads the entry there: two concurrent adds of one name conflict in xenstored, and
//! the one that commits second sees the other's channel.

use super::console;
use crate::error::Result;
use crate::xenstore::Txn;

/// The index of `domid`'s channels.
pub fn index_dir(domid: u32) -> String {
    format!("/libxl/{domid}/channel-names")
}

/// The FNV-1a hash of `name` (stable across builds and versions, unlike std's hasher).
fn key(name: &[u8]) -> String {
    let hash = name.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

pub fn entry_path(domid: u32, name: &[u8]) -> String {
    let key = key(name);
    format!("{}/{}/{}", index_dir(domid), &key[..2], &key[2..])
}

/// The consoles an entry lists; anything else in it (it is dom0's, but may be damaged) is
/// skipped, since every listed console is checked against libxl's copy anyway.
fn parse_entry(value: &[u8]) -> Vec<i32> {
    String::from_utf8_lossy(value)
        .split_ascii_whitespace()
        .filter_map(|d| d.parse().ok())
        .collect()
}

/// The name libxl's copy records for console `devid` of `domid`.
fn recorded_name(t: &Txn<'_>, domid: u32, devid: i32) -> Result<Option<Vec<u8>>> {
    Ok(t
        .read_c(&format!("{}/name", console::libxl_path(domid, devid)))?
        .map(|n| n.into_bytes()))
}

/// Whether the index covers every channel of `domid`.
pub fn is_complete(t: &Txn<'_>, domid: u32) -> Result<bool> {
    Ok(t.read(&index_dir(domid))?.is_some())
}

/// The console holding the channel named `name`, by the index (which must be complete).
pub fn holder(t: &Txn<'_>, domid: u32, name: &[u8]) -> Result<Option<i32>> {
    let Some(entry) = t.read(&entry_path(domid, name))? else {
        return Ok(None);
    };
    for devid in parse_entry(&entry) {
        if recorded_name(t, domid, devid)?.as_deref() == Some(name) {
            return Ok(Some(devid));
        }
    }
    Ok(None)
}

/// Make the index of `domid` from `channels` (name, console) when it does not exist yet,
/// inside `t`, so that a concurrent maker conflicts with this one.
pub fn make_if_missing(t: &Txn<'_>, domid: u32, channels: &[(Vec<u8>, i32)]) -> Result<()> {
    if is_complete(t, domid)? {
        return Ok(());
    }
    t.write(&index_dir(domid), b"")?;
    let mut entries: std::collections::BTreeMap<String, Vec<i32>> = Default::default();
    for (name, devid) in channels {
        entries.entry(entry_path(domid, name)).or_default().push(*devid);
    }
    for (path, devids) in entries {
        t.write(&path, join(&devids).as_bytes())?;
    }
    Ok(())
}

fn join(devids: &[i32]) -> String {
    devids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Record console `devid` as the holder of `name`, inside `t`; `Err(Some(other))` when the
/// index shows another console already holding it (written since the caller looked).
/// Consoles listed in the entry that no longer hold a name with its hash are dropped.
pub fn insert(
    t: &Txn<'_>,
    domid: u32,
    name: &[u8],
    devid: i32,
) -> Result<std::result::Result<(), i32>> {
    let path = entry_path(domid, name);
    let mut kept = Vec::new();
    if let Some(entry) = t.read(&path)? {
        for other in parse_entry(&entry) {
            match recorded_name(t, domid, other)? {
                Some(n) if n == name => return Ok(Err(other)),
                Some(n) if key(&n) == key(name) && other != devid => kept.push(other),
                _ => {}
            }
        }
    }
    kept.push(devid);
    t.write(&path, join(&kept).as_bytes())?;
    Ok(Ok(()))
}

/// Forget console `devid` as the holder of `name`, inside `t`.
pub fn remove(t: &Txn<'_>, domid: u32, name: &[u8], devid: i32) -> Result<()> {
    let path = entry_path(domid, name);
    let Some(entry) = t.read(&path)? else {
        return Ok(());
    };
    let kept: Vec<i32> = parse_entry(&entry)
        .into_iter()
        .filter(|&d| d != devid)
        .collect();
    if kept.is_empty() {
        t.rm(&path)
    } else {
        t.write(&path, join(&kept).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fnv1a_64() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(key(b""), "cbf29ce484222325");
        assert_eq!(key(b"a"), "af63dc4c8601ec8c");
        assert_eq!(key(b"foobar"), "85944171f73967e8");
    }

    #[test]
    fn entries_parse_leniently() {
        assert_eq!(parse_entry(b"3 17"), vec![3, 17]);
        assert_eq!(parse_entry(b" 4  x 9\n"), vec![4, 9]);
        assert_eq!(parse_entry(b""), Vec::<i32>::new());
        assert_eq!(join(&[1, 22]), "1 22");
    }
}
