//! Unplug: a channel's removal from a running domain, with libxl's device removal protocol,
//! and the removal of its chardev from the domain's device model.
//!
//! Graceful removal tells the frontend to close (backend `online` 0, `state` 5, Closing),
//! waits, bounded, for the frontend to reach state 6 (Closed) or to vanish, then removes
//! the chardev and the frontend, backend and `/libxl` nodes. A frontend no driver ever took
//! (state Initialising or unreadable) has nobody to close it and is not waited for; one
//! that does not close in time is removed anyway, with a warning, as libxl forces a removal
//! whose timeout expired. Graceful removal is all or nothing: a device model that does not
//! answer fails it before anything changes, a chardev qemu will not remove puts the backend
//! back online, and nodes that cannot be removed get their chardev back.
//!
//! Forced removal (libxl's destroy) does not wait and does not stop at the device model:
//! its failures are warnings, and the nodes go whatever qemu says. A socket file nobody
//! listens on any more (qemu gone) is removed too.

use super::console::{self, chardev_id, check_devid};
use super::hotplug::{chardev_backend, local_domid};
use super::model::{Connection, DeviceChannel};
use super::names;
use super::store::backend_path_domid;
use crate::devicemodel::qmp::{self, ChardevBackend, Qmp};
use crate::error::{Error, Result};
use crate::xenstore::XenStore;
use std::ffi::CString;
use std::os::unix::fs::FileTypeExt;
use std::time::{Duration, Instant};

/// XenbusStateInitialising, Closing and Closed.
const STATE_INITIALISING: i32 = 1;
const STATE_CLOSING: i32 = 5;
const STATE_CLOSED: i32 = 6;
/// How long a graceful removal waits for the frontend to close.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Names another wait in milliseconds (for tests of the timeout).
pub const TIMEOUT_ENV: &str = "XLCHANNEL_REMOVE_TIMEOUT_MS";
const POLL: Duration = Duration::from_millis(20);

/// What the removal found in libxl's copy of the console.
struct Recorded {
    frontend: String,
    backend: String,
    libxl: String,
    channel: DeviceChannel,
    /// The backend is the local domain, whose device model serves the chardev.
    local: bool,
}

fn recorded(store: &XenStore, domid: u32, devid: i32) -> Result<Recorded> {
    check_devid(devid)?;
    store.transaction(|t| {
        let libxl = console::libxl_path(domid, devid);
        if t.read(&libxl)?.is_none() {
            return Err(Error::NotFound(format!(
                "domain {domid} has no console {devid}"
            )));
        }
        let name = t.read_c(&format!("{libxl}/name"))?.ok_or_else(|| {
            Error::Invalid(format!(
                "console {devid} of domain {domid} is not a channel (it has no name)"
            ))
        })?;
        let connection = t.read_c(&format!("{libxl}/connection"))?;
        let connection = match connection.as_ref().map(|c| c.as_bytes()) {
            Some(b"socket") => Connection::Socket,
            _ => Connection::Pty,
        };
        let backend = t
            .read_c(&format!("{libxl}/backend"))?
            .map(|b| b.to_string_lossy().into_owned())
            .ok_or_else(|| Error::Fail(format!("{libxl}/backend does not exist")))?;
        let frontend = t.read_c(&format!("{libxl}/frontend"))?.map_or_else(
            || console::frontend_path(domid, devid),
            |f| f.to_string_lossy().into_owned(),
        );
        let local = backend_path_domid(backend.as_bytes()) == Some(local_domid(t)?);
        let socket_path = match connection {
            Connection::Socket => t.read_c(&format!("{libxl}/path"))?,
            _ => None,
        };
        Ok(Recorded {
            frontend,
            backend,
            libxl,
            channel: DeviceChannel {
                devid,
                name: Some(name),
                connection: connection as i32,
                socket_path,
                ..DeviceChannel::default()
            },
            local,
        })
    })
}

fn timeout() -> Duration {
    std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
}

/// The frontend's state, `None` when the frontend is gone.
fn frontend_state(store: &XenStore, frontend: &str) -> Result<Option<i32>> {
    store.transaction(|t| {
        if t.read(frontend)?.is_none() {
            return Ok(None);
        }
        Ok(Some(
            t.read_c(&format!("{frontend}/state"))?
                .and_then(|s| s.to_str().ok().and_then(|s| s.parse().ok()))
                .unwrap_or(STATE_INITIALISING),
        ))
    })
}

/// Wait for the frontend to close; a warning when it does not within `limit`.
fn wait_closed(store: &XenStore, r: &Recorded, warnings: &mut Vec<String>) -> Result<()> {
    let limit = timeout();
    let deadline = Instant::now() + limit;
    loop {
        match frontend_state(store, &r.frontend)? {
            None => return Ok(()),
            Some(STATE_CLOSED) => return Ok(()),
            Some(s) if s <= STATE_INITIALISING => return Ok(()),
            Some(_) if Instant::now() >= deadline => {
                warnings.push(format!(
                    "frontend {} did not close within {} ms; removing it anyway",
                    r.frontend,
                    limit.as_millis()
                ));
                return Ok(());
            }
            Some(_) => std::thread::sleep(POLL),
        }
    }
}

/// Remove a socket file nobody listens on (qemu gone, or qemu left it).
fn remove_stale_socket(path: &CString, warnings: &mut Vec<String>) {
    let path = std::path::Path::new(
        <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(path.as_bytes()),
    );
    let is_socket = path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_socket());
    if !is_socket {
        return;
    }
    let refused = matches!(
        std::os::unix::net::UnixStream::connect(path),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
    );
    if refused {
        if let Err(e) = std::fs::remove_file(path) {
            warnings.push(format!("cannot remove socket {}: {e}", path.display()));
        }
    }
}

/// Remove console `devid` (a channel) of `domid`; `force` is libxl's destroy. Returns the
/// warnings to log.
pub fn remove(store: &XenStore, domid: u32, devid: i32, force: bool) -> Result<Vec<String>> {
    let r = recorded(store, domid, devid)?;
    let id = chardev_id(devid);
    let mut warnings = Vec::new();

    // The device model, if the channel's chardev lives in one: first, so a graceful removal
    // stops before changing anything when qemu does not answer.
    let socket = qmp::socket_path(domid);
    let mut device_model = None;
    if r.local && socket.symlink_metadata().is_ok() {
        match Qmp::connect(&socket).and_then(|mut q| {
            let present = q.query_chardev()?.iter().any(|c| c.label == id);
            Ok((q, present))
        }) {
            Ok((q, true)) => device_model = Some(q),
            // Someone removed it (by hand, or a device model started without it).
            Ok((_, false)) => warnings.push(format!(
                "device model of domain {domid} has no chardev {id}; nothing to remove there"
            )),
            Err(e) if force => warnings.push(format!(
                "device model of domain {domid}: {e}; removing the xenstore nodes anyway"
            )),
            Err(e) => {
                return Err(e.context(&format!(
                    "unplug from the device model of domain {domid} (nothing was changed; destroy forces it)"
                )))
            }
        }
    }

    // libxl's removal protocol: the backend goes offline and closing.
    let mut previous = None;
    if !force {
        previous = Some(store.transaction(|t| {
            let old = (
                t.read(&format!("{}/online", r.backend))?,
                t.read(&format!("{}/state", r.backend))?,
            );
            t.write(&format!("{}/online", r.backend), b"0")?;
            t.write(
                &format!("{}/state", r.backend),
                STATE_CLOSING.to_string().as_bytes(),
            )?;
            Ok(old)
        })?);
        wait_closed(store, &r, &mut warnings)?;
    }

    if let Some(q) = device_model.as_mut() {
        if let Err(e) = q.chardev_remove(&id) {
            if force {
                warnings.push(format!("device model of domain {domid}: {e}"));
            } else {
                let restored = store.transaction(|t| {
                    let (online, state) = previous.as_ref().expect("set when not forced");
                    for (key, value) in [("online", online), ("state", state)] {
                        let path = format!("{}/{key}", r.backend);
                        match value {
                            Some(v) => t.write(&path, v)?,
                            None => t.rm(&path)?,
                        }
                    }
                    Ok(())
                });
                let note = match restored {
                    Ok(()) => "the backend is back online".to_owned(),
                    Err(x) => format!("the backend could not be put back online: {x}"),
                };
                return Err(e.context(&format!("unplug step chardev-remove {id} ({note})")));
            }
        }
    }

    let name = r.channel.name.as_ref().map_or(&[][..], |n| n.to_bytes());
    let removed = store.transaction(|t| {
        for path in [&r.frontend, &r.backend, &r.libxl] {
            t.rm(path)?;
        }
        names::remove(t, domid, name, devid)
    });
    if let Err(e) = removed {
        let note = match device_model.as_mut() {
            Some(q) if !force => {
                let restored = chardev_backend(&r.channel, devid)
                    .and_then(|b: ChardevBackend| q.chardev_add(&id, &b));
                match restored {
                    Ok(_) => format!(" (chardev {id} made again)"),
                    Err(x) => format!(" (chardev {id} could not be made again: {x})"),
                }
            }
            _ => String::new(),
        };
        return Err(e.context(&format!("unplug step removing the xenstore nodes{note}")));
    }
    if let (true, Some(path)) = (r.local, &r.channel.socket_path) {
        remove_stale_socket(path, &mut warnings);
    }
    Ok(warnings)
}
