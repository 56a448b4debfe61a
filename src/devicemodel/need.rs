//! Does a guest need a device model (qemu) in the local domain — the domain this toolstack
//! runs in? libxl 4.17's answer (`libxl__need_xenpv_qemu`, asked for PV and PVH guests):
//! yes when the guest has a vfb or a 9pfs device, a qdisk disk or a qusb USB controller
//! served by the local domain, or a channel served by the local domain (xenconsoled serves
//! only the primary console, so every channel needs qemu). HVM guests always have one.

use crate::channel::store::resolve_domain;
use crate::error::{Error, Result};
use crate::xenstore::{Txn, XenStore};
use std::ffi::CString;
use std::fmt;

/// `libxl_domain_type` (INVALID, -1, is not a type a guest can have).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainType {
    Hvm = 1,
    Pv = 2,
    Pvh = 3,
}

impl DomainType {
    pub fn from_raw(value: i32) -> Option<DomainType> {
        [DomainType::Hvm, DomainType::Pv, DomainType::Pvh]
            .into_iter()
            .find(|t| *t as i32 == value)
    }
}

/// `LIBXL_DISK_BACKEND_QDISK`; backends run from UNKNOWN (0) to STANDALONE (4).
pub const DISK_BACKEND_QDISK: i32 = 3;
const DISK_BACKEND_LAST: i32 = 4;
/// `LIBXL_USBCTRL_TYPE_QUSB`; types run from AUTO (0) to QUSB (3).
pub const USBCTRL_TYPE_QUSB: i32 = 3;
const USBCTRL_TYPE_LAST: i32 = 3;

/// The `domid` key of the caller's own `/local/domain/<self>`: xenstored resolves a relative
/// path against the home directory of the connection's domain (dom0's for its socket).
pub const OWN_DOMID_PATH: &str = "domid";

/// The domain that serves a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// `backend_domid`, no `backend_domname`.
    Domid(u32),
    /// `backend_domname`: a domain name or number, resolved as libxl's defaults resolve it
    /// before libxl decides.
    Name(CString),
    /// The local domain whatever its domid (the caller counted the device as local).
    Local,
}

impl Backend {
    /// A device's backend as libxl's struct gives it: the name, when set, wins.
    pub fn from_fields(domid: u32, domname: Option<CString>) -> Backend {
        domname.map_or(Backend::Domid(domid), Backend::Name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// Raw `libxl_disk_backend`.
    pub backend: i32,
    pub backend_domain: Backend,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbCtrl {
    /// Raw `libxl_usbctrl_type`.
    pub kind: i32,
    pub backend_domain: Backend,
}

/// What the decision looks at in a domain configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainDevices {
    /// Raw `libxl_domain_type`.
    pub domain_type: i32,
    pub vfbs: usize,
    pub p9s: usize,
    pub disks: Vec<Disk>,
    pub usbctrls: Vec<UsbCtrl>,
    /// The backend of each channel, in configuration order.
    pub channels: Vec<Backend>,
}

/// Which domain is local.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalDomain {
    Domid(u32),
    /// Ask xenstore (the [`OWN_DOMID_PATH`] key), as libxl does.
    FromXenstore,
}

/// Why a device model is needed: the first reason, in libxl's order of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Hvm,
    Vfb,
    P9,
    LocalQdisk(usize),
    LocalQusb(usize),
    LocalChannel(usize),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Hvm => write!(f, "HVM guests always have one"),
            Reason::Vfb => write!(f, "the guest has a vfb"),
            Reason::P9 => write!(f, "the guest has a 9pfs device"),
            Reason::LocalQdisk(i) => write!(f, "disk {i} is a qdisk served by the local domain"),
            Reason::LocalQusb(i) => {
                write!(f, "usb controller {i} is a qusb served by the local domain")
            }
            Reason::LocalChannel(i) => write!(f, "channel {i} is served by the local domain"),
        }
    }
}

/// Enum fields come from C and may hold anything: reject what libxl has no value for.
fn validate(d: &DomainDevices) -> Result<DomainType> {
    for (i, disk) in d.disks.iter().enumerate() {
        if !(0..=DISK_BACKEND_LAST).contains(&disk.backend) {
            return Err(Error::Invalid(format!(
                "disk {i} has an invalid backend value {}",
                disk.backend
            )));
        }
    }
    for (i, u) in d.usbctrls.iter().enumerate() {
        if !(0..=USBCTRL_TYPE_LAST).contains(&u.kind) {
            return Err(Error::Invalid(format!(
                "usb controller {i} has an invalid type value {}",
                u.kind
            )));
        }
    }
    DomainType::from_raw(d.domain_type)
        .ok_or_else(|| Error::Invalid(format!("invalid domain type {}", d.domain_type)))
}

/// The domid of the domain this process runs in, from its own `domid` key. Stricter than
/// libxl's `atoi`: anything but a decimal domid is an error, not domain 0.
pub fn own_domid(t: &Txn<'_>) -> Result<u32> {
    let value = t
        .read_c(OWN_DOMID_PATH)?
        .map(|v| v.to_string_lossy().into_owned())
        .ok_or_else(|| Error::Fail(format!("failed to get own domid ({OWN_DOMID_PATH})")))?;
    value.parse().map_err(|_| {
        Error::Fail(format!(
            "own domid ({OWN_DOMID_PATH}) is '{value}', not a domain id"
        ))
    })
}

/// libxl's checks in libxl's order, each backend turned into a domid by `domid_of`.
fn decide(
    d: &DomainDevices,
    local: u32,
    domid_of: &dyn Fn(&Backend) -> Result<u32>,
) -> Result<Option<Reason>> {
    let is_local =
        |b: &Backend| -> Result<bool> { Ok(matches!(b, Backend::Local) || domid_of(b)? == local) };
    if d.vfbs > 0 {
        return Ok(Some(Reason::Vfb));
    }
    if d.p9s > 0 {
        return Ok(Some(Reason::P9));
    }
    for (i, disk) in d.disks.iter().enumerate() {
        if disk.backend == DISK_BACKEND_QDISK && is_local(&disk.backend_domain)? {
            return Ok(Some(Reason::LocalQdisk(i)));
        }
    }
    for (i, u) in d.usbctrls.iter().enumerate() {
        if u.kind == USBCTRL_TYPE_QUSB && is_local(&u.backend_domain)? {
            return Ok(Some(Reason::LocalQusb(i)));
        }
    }
    for (i, backend) in d.channels.iter().enumerate() {
        if is_local(backend)? {
            return Ok(Some(Reason::LocalChannel(i)));
        }
    }
    Ok(None)
}

/// Whether the guest needs a device model in the local domain, and why (`None`: it does
/// not). xenstore is read only when needed: for the local domid when asked to, and to
/// resolve a `backend_domname` the decision looks at; all in one transaction.
pub fn need_xenpv_qemu(
    store: &XenStore,
    devices: &DomainDevices,
    local: LocalDomain,
) -> Result<Option<Reason>> {
    if validate(devices)? == DomainType::Hvm {
        return Ok(Some(Reason::Hvm));
    }
    let names = devices
        .disks
        .iter()
        .map(|d| &d.backend_domain)
        .chain(devices.usbctrls.iter().map(|u| &u.backend_domain))
        .chain(&devices.channels)
        .any(|b| matches!(b, Backend::Name(_)));
    match local {
        LocalDomain::Domid(domid) if !names => decide(devices, domid, &no_names),
        _ => store.transaction(|t| {
            let domid = match local {
                LocalDomain::Domid(domid) => domid,
                LocalDomain::FromXenstore => own_domid(t)?,
            };
            decide(devices, domid, &|b| match b {
                Backend::Name(name) => resolve_domain(t, name),
                other => no_names(other),
            })
        }),
    }
}

fn no_names(b: &Backend) -> Result<u32> {
    match b {
        Backend::Domid(domid) => Ok(*domid),
        Backend::Local => unreachable!("decide() checks Local itself"),
        Backend::Name(_) => unreachable!("names are resolved in a transaction"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pv() -> DomainDevices {
        DomainDevices {
            domain_type: DomainType::Pv as i32,
            vfbs: 0,
            p9s: 0,
            disks: vec![],
            usbctrls: vec![],
            channels: vec![],
        }
    }

    fn run(d: &DomainDevices, local: u32) -> Result<Option<Reason>> {
        validate(d)?;
        decide(d, local, &no_names)
    }

    #[test]
    fn each_condition_alone() {
        assert_eq!(run(&pv(), 0), Ok(None));
        assert_eq!(
            run(&DomainDevices { vfbs: 1, ..pv() }, 0),
            Ok(Some(Reason::Vfb))
        );
        assert_eq!(
            run(&DomainDevices { p9s: 2, ..pv() }, 0),
            Ok(Some(Reason::P9))
        );
        let disk = |backend, domid| Disk {
            backend,
            backend_domain: Backend::Domid(domid),
        };
        let d = DomainDevices {
            disks: vec![disk(1, 0), disk(3, 5), disk(3, 0)],
            ..pv()
        };
        assert_eq!(run(&d, 0), Ok(Some(Reason::LocalQdisk(2))));
        assert_eq!(run(&d, 5), Ok(Some(Reason::LocalQdisk(1))));
        assert_eq!(run(&d, 7), Ok(None));
        let usb = |kind, domid| UsbCtrl {
            kind,
            backend_domain: Backend::Domid(domid),
        };
        let d = DomainDevices {
            usbctrls: vec![usb(2, 0), usb(1, 0), usb(3, 4)],
            ..pv()
        };
        assert_eq!(run(&d, 0), Ok(None));
        assert_eq!(run(&d, 4), Ok(Some(Reason::LocalQusb(2))));
        let d = DomainDevices {
            channels: vec![Backend::Domid(3), Backend::Domid(0)],
            ..pv()
        };
        assert_eq!(run(&d, 0), Ok(Some(Reason::LocalChannel(1))));
        assert_eq!(run(&d, 3), Ok(Some(Reason::LocalChannel(0))));
        assert_eq!(run(&d, 9), Ok(None));
        let d = DomainDevices {
            channels: vec![Backend::Local],
            domain_type: DomainType::Pvh as i32,
            ..pv()
        };
        assert_eq!(run(&d, 9), Ok(Some(Reason::LocalChannel(0))));
    }

    #[test]
    fn invalid_enums_are_rejected() {
        let msg = |d: DomainDevices| run(&d, 0).unwrap_err().to_string();
        assert_eq!(
            msg(DomainDevices {
                domain_type: -1,
                ..pv()
            }),
            "invalid domain type -1"
        );
        assert_eq!(
            msg(DomainDevices {
                disks: vec![Disk {
                    backend: 5,
                    backend_domain: Backend::Local
                }],
                ..pv()
            }),
            "disk 0 has an invalid backend value 5"
        );
        assert_eq!(
            msg(DomainDevices {
                usbctrls: vec![UsbCtrl {
                    kind: -1,
                    backend_domain: Backend::Local
                }],
                ..pv()
            }),
            "usb controller 0 has an invalid type value -1"
        );
    }
}
