//! Reading a real `libxl_domain_config`: its layout comes from bindgen over the installed
//! `libxl.h` at build time (see build.rs), so libxl can hand over its own config.

use super::cstring;
use crate::devicemodel::need::{Backend, Disk, DomainDevices, UsbCtrl};
use crate::error::{Error, Result};
use libc::c_int;

#[allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    clippy::all
)]
mod sys {
    include!(concat!(env!("OUT_DIR"), "/libxl_config_sys.rs"));
}

pub(crate) use sys::libxl_domain_config;

/// A config's device array: `num` entries (a negative count, or entries without an array,
/// are invalid).
///
/// # Safety
/// `p` is NULL or points to at least `num` initialised entries that outlive the slice.
unsafe fn array<'a, T>(p: *const T, num: c_int, what: &str) -> Result<&'a [T]> {
    let n = count(num, what)?;
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::Invalid(format!(
            "num_{what} is {n} but {what} is NULL"
        )));
    }
    // SAFETY: at least `n` initialised entries that outlive the slice (this function's contract).
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

fn count(num: c_int, what: &str) -> Result<usize> {
    usize::try_from(num).map_err(|_| Error::Invalid(format!("num_{what} is {num}")))
}

/// The devices of `cfg` the device-model decision looks at. Only counts are read for vfbs and
/// 9pfs devices, as libxl does.
///
/// # Safety
/// `cfg` was initialised by libxl's `libxl_domain_config_init` (or laid out likewise): each
/// device array holds its `num_*` entries, strings are NULL or NUL-terminated.
pub(crate) unsafe fn domain_devices(cfg: &libxl_domain_config) -> Result<DomainDevices> {
    // SAFETY: the strings of an initialised config are NULL or C strings (the contract).
    let backend =
        |domid: u32, domname| Backend::from_fields(domid, unsafe { cstring::to_owned(domname) });
    // SAFETY: each array holds its `num_*` entries (this function's contract).
    let disks = unsafe { array(cfg.disks, cfg.num_disks, "disks") }?
        .iter()
        .map(|d| Disk {
            backend: d.backend as i32,
            backend_domain: backend(d.backend_domid, d.backend_domname),
        })
        .collect();
    // SAFETY: as above.
    let usbctrls = unsafe { array(cfg.usbctrls, cfg.num_usbctrls, "usbctrls") }?
        .iter()
        .map(|u| UsbCtrl {
            kind: u.type_ as i32,
            backend_domain: backend(u.backend_domid, u.backend_domname),
        })
        .collect();
    // SAFETY: as above.
    let channels = unsafe { array(cfg.channels, cfg.num_channels, "channels") }?
        .iter()
        .map(|c| backend(c.backend_domid, c.backend_domname))
        .collect();
    Ok(DomainDevices {
        domain_type: cfg.c_info.type_,
        vfbs: count(cfg.num_vfbs, "vfbs")?,
        p9s: count(cfg.num_p9s, "p9s")?,
        disks,
        usbctrls,
        channels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devicemodel::need::DomainType;
    use std::mem::MaybeUninit;
    use std::ptr;

    /// What `libxl_domain_config_init` leaves: all zero (the members read here have no other
    /// defaults).
    fn zeroed<T>() -> T {
        // SAFETY: libxl's IDL structs are plain C data for which all-zero is valid.
        unsafe { MaybeUninit::<T>::zeroed().assume_init() }
    }

    #[test]
    fn reads_the_members_libxl_decides_on() {
        let mut disks: [sys::libxl_device_disk; 2] = [zeroed(), zeroed()];
        disks[0].backend = sys::LIBXL_DISK_BACKEND_PHY;
        disks[1].backend = sys::LIBXL_DISK_BACKEND_QDISK;
        disks[1].backend_domid = 3;
        let mut usb: [sys::libxl_device_usbctrl; 1] = [zeroed()];
        usb[0].type_ = sys::LIBXL_USBCTRL_TYPE_QUSB;
        let domname = c"driver".to_owned();
        let mut channels: [sys::libxl_device_channel; 2] = [zeroed(), zeroed()];
        channels[0].backend_domid = 4;
        channels[1].backend_domname = domname.as_ptr().cast_mut();
        let mut cfg: libxl_domain_config = zeroed();
        cfg.c_info.type_ = sys::LIBXL_DOMAIN_TYPE_PVH;
        cfg.num_disks = 2;
        cfg.disks = disks.as_mut_ptr();
        cfg.num_usbctrls = 1;
        cfg.usbctrls = usb.as_mut_ptr();
        cfg.num_channels = 2;
        cfg.channels = channels.as_mut_ptr();
        cfg.num_vfbs = 1;
        cfg.num_p9s = 2;
        // SAFETY: every array holds its count of entries.
        let d = unsafe { domain_devices(&cfg) }.unwrap();
        assert_eq!(d.domain_type, DomainType::Pvh as i32);
        assert_eq!((d.vfbs, d.p9s), (1, 2));
        assert_eq!(
            d.disks,
            [
                Disk {
                    backend: 1,
                    backend_domain: Backend::Domid(0)
                },
                Disk {
                    backend: 3,
                    backend_domain: Backend::Domid(3)
                },
            ]
        );
        assert_eq!(
            d.usbctrls,
            [UsbCtrl {
                kind: 3,
                backend_domain: Backend::Domid(0)
            }]
        );
        assert_eq!(d.channels, [Backend::Domid(4), Backend::Name(domname)]);
    }

    #[test]
    fn bad_counts_are_invalid() {
        let mut cfg: libxl_domain_config = zeroed();
        cfg.num_channels = 1;
        cfg.channels = ptr::null_mut();
        // SAFETY: the only array is NULL, which is checked before any read.
        let e = unsafe { domain_devices(&cfg) }.unwrap_err();
        assert_eq!(e.to_string(), "num_channels is 1 but channels is NULL");
        cfg.num_channels = 0;
        cfg.num_vfbs = -2;
        // SAFETY: as above.
        let e = unsafe { domain_devices(&cfg) }.unwrap_err();
        assert_eq!(e.to_string(), "num_vfbs is -2");
    }
}
