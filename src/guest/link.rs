//! The links `<dev dir>/xen-channel/<name>` → `../hvc<N>`: made when console N appears,
//! removed when it goes. Only links this module would have made are ever replaced or
//! removed; anything else found under a channel's name is left alone and reported.

use super::{checked_name, link_target, name_path, GuestError, CHANNEL_DIR};
use crate::xenstore::{XenStore, XBT_NULL};
use std::ffi::OsStr;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, DirBuilderExt};
use std::path::{Path, PathBuf};

/// What [`link_console`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linked {
    /// The link was made.
    Made(PathBuf),
    /// The same link was already there (a repeated `add` event).
    AlreadyThere(PathBuf),
    /// A link of the same name pointed at a console that no longer exists (its `remove`
    /// was missed); it now points at this console.
    ReplacedStale { link: PathBuf, old_target: PathBuf },
    /// Console 0 is the guest's primary console, never a channel.
    PrimaryConsole,
    /// The console has no `name` in xenstore: a plain console, not a channel.
    Unnamed,
}

/// The console's channel name from the guest's own xenstore directory (a relative path,
/// which xenstored resolves under the caller's domain), as raw bytes: `None` when the
/// console has no name. NUL bytes are kept, so that [`super::check_name`] refuses them
/// rather than a C reader silently cutting the name short.
pub fn read_console_name(store: &XenStore, console: u32) -> Result<Option<Vec<u8>>, GuestError> {
    store
        .within(XBT_NULL)
        .read(&name_path(console))
        .map_err(|e| GuestError::Store(format!("console {console}: reading its name: {e}")))
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> GuestError {
    GuestError::Io(format!("{what} {}: {e}", path.display()))
}

/// Make `<dev_dir>/xen-channel/<name>` → `../hvc<console>` for the console's channel name,
/// which `read_name` supplies (it is not asked for console 0). A name that is not one safe
/// path component is refused (`UnsafeName`) and nothing is made. A link of that name to
/// another console that still exists, or anything else of that name, is left alone and
/// reported as an `Io` error.
pub fn link_console(
    dev_dir: &Path,
    console: u32,
    read_name: impl FnOnce(u32) -> Result<Option<Vec<u8>>, GuestError>,
) -> Result<Linked, GuestError> {
    if console == 0 {
        return Ok(Linked::PrimaryConsole);
    }
    let Some(name) = read_name(console)? else {
        return Ok(Linked::Unnamed);
    };
    checked_name(&name, Some(console)).map_err(|e| match e {
        GuestError::UnsafeName(m) => GuestError::UnsafeName(format!("{m}; no link made")),
        other => other,
    })?;
    let dir = dev_dir.join(CHANNEL_DIR);
    match fs::DirBuilder::new().mode(0o755).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            if !dir.is_dir() {
                return Err(GuestError::Io(format!(
                    "{} exists and is not a directory",
                    dir.display()
                )));
            }
        }
        Err(e) => return Err(io_error("creating", &dir, e)),
    }
    let link = dir.join(OsStr::from_bytes(&name));
    let target = PathBuf::from(link_target(console));
    match symlink(&target, &link) {
        Ok(()) => return Ok(Linked::Made(link)),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_error("linking", &link, e)),
    }
    // Something of that name is there already.
    let existing = match fs::read_link(&link) {
        Ok(existing) => existing,
        Err(e) if e.kind() == ErrorKind::InvalidInput => {
            return Err(GuestError::Io(format!(
                "console {console}: {} exists and is not a link; leaving it alone",
                link.display()
            )))
        }
        Err(e) => return Err(io_error("reading", &link, e)),
    };
    if existing == target {
        return Ok(Linked::AlreadyThere(link));
    }
    let ours = is_console_target(&existing);
    let stale = ours && matches!(fs::metadata(&link), Err(e) if e.kind() == ErrorKind::NotFound);
    if !stale {
        return Err(GuestError::Io(format!(
            "console {console}: {} already links to {}{}; leaving it alone",
            link.display(),
            existing.display(),
            if ours { ", a console that exists" } else { "" }
        )));
    }
    // Replace the stale link in one step: a new link under a temporary name renamed over it.
    let temporary = dir.join(format!(".xlchannel-guest.{}.{console}", std::process::id()));
    let _ = fs::remove_file(&temporary);
    symlink(&target, &temporary).map_err(|e| io_error("linking", &temporary, e))?;
    if let Err(e) = fs::rename(&temporary, &link) {
        let _ = fs::remove_file(&temporary);
        return Err(io_error("replacing", &link, e));
    }
    Ok(Linked::ReplacedStale {
        link,
        old_target: existing,
    })
}

/// Is `target` what [`link_target`] makes for some console?
fn is_console_target(target: &Path) -> bool {
    target
        .as_os_str()
        .as_bytes()
        .strip_prefix(b"../hvc")
        .is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit))
}

/// Remove every link in `<dev_dir>/xen-channel` that points at `../hvc<console>` — the links
/// [`link_console`] made for it — and nothing else. By the time udev reports the removal
/// the console's xenstore directory may be gone, so the links are found by their target,
/// not by the name. Returns the links removed (none for console 0 or a missing directory).
pub fn unlink_console(dev_dir: &Path, console: u32) -> Result<Vec<PathBuf>, GuestError> {
    let mut removed = Vec::new();
    if console == 0 {
        return Ok(removed);
    }
    let dir = dev_dir.join(CHANNEL_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(io_error("reading", &dir, e)),
    };
    let target = PathBuf::from(link_target(console));
    for entry in entries {
        let entry = entry.map_err(|e| io_error("reading", &dir, e))?;
        let path = entry.path();
        match fs::read_link(&path) {
            Ok(t) if t == target => {}
            // Not a link, another target, or gone meanwhile.
            _ => continue,
        }
        match fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("removing", &path, e)),
        }
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_targets() {
        assert!(is_console_target(Path::new("../hvc1")));
        assert!(is_console_target(Path::new("../hvc12")));
        assert!(!is_console_target(Path::new("../hvc")));
        assert!(!is_console_target(Path::new("/dev/hvc1")));
        assert!(!is_console_target(Path::new("../hvc1x")));
        assert!(!is_console_target(Path::new("../ttyS0")));
    }
}
