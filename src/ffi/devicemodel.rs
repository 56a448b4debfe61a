//! The device-model side: `xlchannel_need_xenpv_qemu` (from device counts, or from a real
//! `libxl_domain_config`) and the qemu `-chardev` arguments of a domain's channels.

use super::boundary::ffi_boundary;
use super::cstring;
use super::domain_config;
use super::idl::{log_error, IdlStruct};
use super::types::*;
use crate::channel::DeviceChannel;
use crate::devicemodel::chardev_args;
use crate::devicemodel::need::{self, Backend, Disk, DomainDevices, LocalDomain, UsbCtrl};
use crate::error::{code, Error, Result};
use crate::log::{Level, Site};
use crate::site;
use crate::Context;
use libc::{c_char, c_int};
use std::ptr;

/// Domids from here up are reserved by Xen; none of them is a domain a toolstack runs in.
const DOMID_FIRST_RESERVED: u32 = 0x7FF0;

fn local_domain(local_domid: u32) -> Result<LocalDomain> {
    match local_domid {
        XLCHANNEL_DOMID_SELF => Ok(LocalDomain::FromXenstore),
        d if d >= DOMID_FIRST_RESERVED => Err(Error::Invalid(format!(
            "local domid {d} is a reserved domid (XLCHANNEL_DOMID_SELF reads it from xenstore)"
        ))),
        d => Ok(LocalDomain::Domid(d)),
    }
}

/// Decide for `devices` (built by `read`, which may fail) and report it: 1 needed, 0 not, or
/// a logged `libxl_error`.
fn decide(
    ctx: *mut libxl_ctx,
    site: Site,
    local_domid: u32,
    read: impl FnOnce(&Context) -> Result<DomainDevices>,
) -> c_int {
    // SAFETY: a non-NULL ctx comes from libxl_ctx_alloc per the API contract.
    let Some(c) = (unsafe { ctx.as_ref() }) else {
        return code::ERROR_INVAL;
    };
    let result = local_domain(local_domid).and_then(|local| {
        let devices = read(c)?;
        need::need_xenpv_qemu(&c.store(), &devices, local)
    });
    match result {
        Ok(Some(reason)) => {
            c.log(
                Level::Debug,
                site,
                None,
                &format!("device model needed: {reason}"),
            );
            1
        }
        Ok(None) => {
            c.log(Level::Debug, site, None, "no device model needed");
            0
        }
        Err(e) => {
            c.log_error(site, None, &e);
            e.code()
        }
    }
}

/// One local device of a kind decides as well as many (and a huge count allocates nothing).
fn at_most_one<T>(n: usize, make: impl Fn() -> T) -> Vec<T> {
    (0..n.min(1)).map(|_| make()).collect()
}

fn count(n: c_int, what: &str) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::Invalid(format!("{what} is {n}")))
}

/// `num` channels at `channels` (NULL allowed with 0).
///
/// # Safety
/// `channels` is NULL or points to `num` initialised channels.
unsafe fn read_channels(
    channels: *const libxl_device_channel,
    num: c_int,
) -> Result<Vec<DeviceChannel>> {
    let n = count(num, "num_channels")?;
    if n == 0 {
        return Ok(Vec::new());
    }
    if channels.is_null() {
        return Err(Error::Invalid(format!(
            "num_channels is {n} but channels is NULL"
        )));
    }
    // SAFETY: `num` initialised channels at `channels` (this function's contract).
    let channels = unsafe { std::slice::from_raw_parts(channels, n) };
    // SAFETY: as above.
    Ok(channels.iter().map(|c| unsafe { c.read() }).collect())
}

/// Whether a guest needs a device model (qemu) in the local domain, decided as libxl 4.17's
/// `libxl__need_xenpv_qemu` does from what matters: an HVM guest always does; a PV or PVH
/// guest does when it has a vfb or a 9pfs device, a qdisk disk or a qusb USB controller
/// served by the local domain, or a channel served by the local domain.
///
/// `channels`/`num_channels` are the guest's channels (NULL with 0 for none); a channel's
/// `backend_domname`, when set, is resolved (a name or a number) and wins over its
/// `backend_domid`. The other devices are given as counts: vfbs, 9pfs devices, disks with
/// backend QDISK served by the local domain and usbctrls of type QUSB served by the local
/// domain. `local_domid` is the domain this toolstack runs in, or `XLCHANNEL_DOMID_SELF` to
/// read it from xenstore (the `domid` key of the caller's own `/local/domain/<domid>`) as
/// libxl does.
///
/// Returns 1 (needed), 0 (not needed), or ERROR_INVAL (NULL ctx, a negative count, an
/// invalid domain type, a reserved `local_domid`, an unknown backend domain name) or
/// ERROR_FAIL (the own domid missing from xenstore, or xenstore failing). Errors are logged
/// through the context's logger, the decision at debug level.
///
/// # Safety
/// `ctx` is NULL or live; `channels` is NULL or points to `num_channels` initialised channels.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn xlchannel_need_xenpv_qemu(
    ctx: *mut libxl_ctx,
    domain_type: DomainTypeValue,
    channels: *const libxl_device_channel,
    num_channels: c_int,
    num_vfbs: c_int,
    num_p9s: c_int,
    num_local_qdisks: c_int,
    num_local_qusbctrls: c_int,
    local_domid: u32,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            let site = site!("xlchannel_need_xenpv_qemu");
            decide(ctx, site, local_domid, |_| {
                Ok(DomainDevices {
                    domain_type,
                    vfbs: count(num_vfbs, "num_vfbs")?,
                    p9s: count(num_p9s, "num_p9s")?,
                    disks: at_most_one(count(num_local_qdisks, "num_local_qdisks")?, || Disk {
                        backend: need::DISK_BACKEND_QDISK,
                        backend_domain: Backend::Local,
                    }),
                    usbctrls: at_most_one(
                        count(num_local_qusbctrls, "num_local_qusbctrls")?,
                        || UsbCtrl {
                            kind: need::USBCTRL_TYPE_QUSB,
                            backend_domain: Backend::Local,
                        },
                    ),
                    channels: read_channels(channels, num_channels)?
                        .into_iter()
                        .map(|c| Backend::from_fields(c.backend_domid, c.backend_domname))
                        .collect(),
                })
            })
        }
    })
}

/// `xlchannel_need_xenpv_qemu` over libxl's own domain configuration (Debian's libxl.h
/// layout, read as built): `c_info.type`, `num_vfbs`, `num_p9s`, and the backend type and
/// backend domain (`backend_domid`, or `backend_domname` when set) of `disks`, `usbctrls`
/// and `channels`. Pass the config after libxl's defaults are applied: a disk backend still
/// UNKNOWN or a usbctrl type still AUTO is not counted as qdisk or qusb. An enum member
/// outside its libxl values, or a negative count, or a count without its array, gives
/// ERROR_INVAL. Results as for `xlchannel_need_xenpv_qemu`.
///
/// # Safety
/// `ctx` is NULL or live; `d_config` is NULL or an initialised `libxl_domain_config` whose
/// device arrays hold their counts of initialised entries.
#[no_mangle]
pub unsafe extern "C" fn xlchannel_need_xenpv_qemu_config(
    ctx: *mut libxl_ctx,
    d_config: *const libxl_domain_config,
    local_domid: u32,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            let site = site!("xlchannel_need_xenpv_qemu_config");
            let config = d_config.cast::<domain_config::libxl_domain_config>();
            decide(ctx, site, local_domid, |_| match config.as_ref() {
                None => Err(Error::Invalid("NULL d_config".into())),
                Some(cfg) => domain_config::domain_devices(cfg),
            })
        }
    })
}

/// A `malloc`'d NULL-terminated array of `malloc`'d copies of `args`.
fn malloc_argv(args: &[std::ffi::CString]) -> Result<*mut *mut c_char> {
    // SAFETY: a fresh zeroed array of len+1 pointers; each slot is filled with a string we
    // own, and on failure everything allocated so far is freed.
    unsafe {
        let argv =
            libc::calloc(args.len() + 1, std::mem::size_of::<*mut c_char>()).cast::<*mut c_char>();
        if argv.is_null() {
            return Err(Error::NoMem);
        }
        for (i, a) in args.iter().enumerate() {
            match cstring::to_malloced(Some(a)) {
                Ok(p) => *argv.add(i) = p,
                Err(e) => {
                    free_argv(argv);
                    return Err(e);
                }
            }
        }
        Ok(argv)
    }
}

/// # Safety
/// `argv` is NULL or a NULL-terminated array from `malloc_argv`, not used afterwards.
unsafe fn free_argv(argv: *mut *mut c_char) {
    if argv.is_null() {
        return;
    }
    // SAFETY: a NULL-terminated array of malloc'd strings (this function's contract): each
    // string and then the array are freed once.
    unsafe {
        let mut p = argv;
        while !(*p).is_null() {
            cstring::free(*p);
            p = p.add(1);
        }
        libc::free(argv.cast());
    }
}

/// The qemu arguments that give each channel its character device, as libxl 4.17 passes
/// them to qemu-xen: a pair `"-chardev"`, SPEC per channel in configuration order, with SPEC
/// `pty,id=libxl-channel<devid>` or
/// `socket,id=libxl-channel<devid>,path=<path>,server=on,wait=off`. `<devid>` is the
/// channel's console devid — channel i with devid -1 is console i+1, as at domain creation —
/// so the console's `output=chardev:libxl-channel<devid>` names this chardev. A comma in a
/// path is written `,,` (qemu's escape), so a path can never add options of its own.
///
/// On success 0 is returned and `*args_r` is a NULL-terminated array (only the NULL for no
/// channels) to free with `xlchannel_dm_args_free`. ERROR_INVAL (logged; `*args_r` NULL): NULL
/// ctx or args_r, channels NULL with a count, a negative count, a connection neither pty nor
/// socket, a socket without a path, with an empty path or with a path longer than a unix
/// socket address holds (107 bytes), console devid 0 (or below -1), two channels on one
/// console.
///
/// # Safety
/// `ctx` is NULL or live; `channels` is NULL or points to `num_channels` initialised
/// channels; `args_r` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn xlchannel_dm_chardev_args(
    ctx: *mut libxl_ctx,
    channels: *const libxl_device_channel,
    num_channels: c_int,
    args_r: *mut *mut *mut c_char,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            let site = site!("xlchannel_dm_chardev_args");
            if let Some(a) = args_r.as_mut() {
                *a = ptr::null_mut();
            }
            let (Some(_), Some(out)) = (ctx.as_ref(), args_r.as_mut()) else {
                log_error(ctx, site, &Error::Invalid("NULL ctx or args_r".into()));
                return code::ERROR_INVAL;
            };
            let result = read_channels(channels, num_channels)
                .and_then(|c| chardev_args(&c))
                .and_then(|args| malloc_argv(&args));
            match result {
                Ok(argv) => {
                    *out = argv;
                    0
                }
                Err(e) => {
                    log_error(ctx, site, &e);
                    e.code()
                }
            }
        }
    })
}

/// Free an argument array from `xlchannel_dm_chardev_args`: every string, then the array.
/// NULL is a no-op.
///
/// # Safety
/// `args` is NULL or an array from `xlchannel_dm_chardev_args`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn xlchannel_dm_args_free(args: *mut *mut c_char) {
    ffi_boundary!((), {
        // SAFETY: the pointers are as this function's contract says.
        unsafe { free_argv(args) }
    })
}
