//! The embedding API (`include/libxl_channel_embed.h`): the channel operations over a
//! caller's libxenstore handle and transaction, so libxl's own C code can hand its channel
//! work to this library. With `t == XBT_NULL`, list and getinfo read without a transaction
//! (as libxl does) and the adds write each channel in a transaction of its own (restarted
//! on conflict; the channels already written are removed again when one fails); otherwise
//! every call works inside the caller's transaction, which the caller commits (and
//! restarts on EAGAIN). Waits on the caller's handle are the caller's: only connections
//! this library opens are bounded by `XLCHANNEL_XS_TIMEOUT`. Messages go to `lg` (NULL:
//! none).

use super::boundary::ffi_boundary;
use super::device_ops;
use super::types::*;
use crate::error::{code, Error, Result};
use crate::log::{log_to, Level, Site};
use crate::site;
use crate::xenstore::{XenStore, XsHandle, XsTransaction};
use libc::c_int;
use std::ptr;

/// Borrow the caller's handle, run `op`, log its error through `lg`.
///
/// # Safety
/// `xsh` is NULL or a live handle; `lg` is NULL or a live logger.
unsafe fn with_store(
    xsh: *mut XsHandle,
    lg: *mut xentoollog_logger,
    domid: u32,
    site: Site,
    op: impl FnOnce(&XenStore) -> Result<()>,
) -> c_int {
    // SAFETY: `xsh` is NULL or a live handle (the callers' contracts).
    let result = match unsafe { XenStore::borrowed(xsh) } {
        None => Err(Error::Invalid("NULL xenstore handle".into())),
        Some(store) => op(&store),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            // SAFETY: `lg` is NULL or live (the callers' contracts).
            unsafe { log_to(lg, Level::Error, -1, site, Some(domid), &e.to_string()) };
            e.code()
        }
    }
}

/// `libxl_device_channel_add` over a caller's handle and transaction.
///
/// # Safety
/// `xsh` is NULL or a live handle; `t` is XBT_NULL or a transaction of `xsh`; `lg` is NULL
/// or live; `channel` is NULL or initialised.
#[no_mangle]
pub unsafe extern "C" fn xlchannel_xs_channel_add(
    xsh: *mut XsHandle,
    t: XsTransaction,
    lg: *mut xentoollog_logger,
    domid: u32,
    channel: *mut libxl_device_channel,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        // SAFETY: the pointers, here and in the closure, are as this function's contract says.
        unsafe {
            with_store(xsh, lg, domid, site!("xlchannel_xs_channel_add"), |store| {
                let channel = channel
                    .as_mut()
                    .ok_or_else(|| Error::Invalid("NULL channel".into()))?;
                device_ops::add_one(store, t, domid, channel)
            })
        }
    })
}

/// `libxl_device_channel_remove` (`force` 0) or `_destroy` (`force` 1) of console
/// `channel->devid` over a caller's handle; always its own transactions (the removal
/// protocol waits between them). Warnings go to `lg` too.
///
/// # Safety
/// `xsh` is NULL or a live handle; `lg` is NULL or live; `channel` is NULL or initialised.
#[no_mangle]
pub unsafe extern "C" fn xlchannel_xs_channel_remove(
    xsh: *mut XsHandle,
    lg: *mut xentoollog_logger,
    domid: u32,
    channel: *const libxl_device_channel,
    force: c_int,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        let site = site!("xlchannel_xs_channel_remove");
        // SAFETY: the pointers, here and in the closure, are as this function's contract says.
        unsafe {
            with_store(xsh, lg, domid, site, |store| {
                let channel = channel
                    .as_ref()
                    .ok_or_else(|| Error::Invalid("NULL channel".into()))?;
                device_ops::remove_one(store, domid, channel, force != 0, |w| {
                    log_to(lg, Level::Warn, -1, site, Some(domid), w)
                })
            })
        }
    })
}

/// Domain creation: write all `num` channels of `domid` (all or none); channel i with
/// devid -1 becomes console i+1 (console 0 is the primary console). Chosen devids and
/// resolved backend domids are written back into `channels`.
///
/// # Safety
/// As `xlchannel_xs_channel_add`; `channels` is NULL (with `num` 0) or an array of `num`
/// initialised channels.
#[no_mangle]
pub unsafe extern "C" fn xlchannel_xs_channels_create(
    xsh: *mut XsHandle,
    t: XsTransaction,
    lg: *mut xentoollog_logger,
    domid: u32,
    channels: *mut libxl_device_channel,
    num: c_int,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        // SAFETY: the pointers, here and in the closure, are as this function's contract says.
        unsafe {
            with_store(
                xsh,
                lg,
                domid,
                site!("xlchannel_xs_channels_create"),
                |store| {
                    let num = usize::try_from(num)
                        .map_err(|_| Error::Invalid(format!("negative channel count {num}")))?;
                    if num == 0 {
                        return Ok(());
                    }
                    if channels.is_null() {
                        return Err(Error::Invalid("NULL channels".into()));
                    }
                    device_ops::add_at_create(
                        store,
                        t,
                        domid,
                        std::slice::from_raw_parts_mut(channels, num),
                    )
                },
            )
        }
    })
}

/// `libxl_device_channel_list` over a caller's handle and transaction.
///
/// # Safety
/// As `xlchannel_xs_channel_add`; `num` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn xlchannel_xs_channel_list(
    xsh: *mut XsHandle,
    t: XsTransaction,
    lg: *mut xentoollog_logger,
    domid: u32,
    num: *mut c_int,
) -> *mut libxl_device_channel {
    ffi_boundary!(ptr::null_mut(), {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            let mut list = ptr::null_mut();
            if let Some(n) = num.as_mut() {
                *n = 0;
            }
            let rc = with_store(
                xsh,
                lg,
                domid,
                site!("xlchannel_xs_channel_list"),
                |store| {
                    let n = num
                        .as_mut()
                        .ok_or_else(|| Error::Invalid("NULL num".into()))?;
                    let (l, len) = device_ops::list(store, t, domid)?;
                    list = l;
                    *n = c_int::try_from(len).unwrap_or(c_int::MAX);
                    Ok(())
                },
            );
            if rc == 0 {
                list
            } else {
                ptr::null_mut()
            }
        }
    })
}

/// `libxl_device_channel_getinfo` over a caller's handle and transaction.
///
/// # Safety
/// As `xlchannel_xs_channel_add`; `channelinfo` is NULL or initialised.
#[no_mangle]
pub unsafe extern "C" fn xlchannel_xs_channel_getinfo(
    xsh: *mut XsHandle,
    t: XsTransaction,
    lg: *mut xentoollog_logger,
    domid: u32,
    channel: *const libxl_device_channel,
    channelinfo: *mut libxl_channelinfo,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        // SAFETY: the pointers, here and in the closure, are as this function's contract says.
        unsafe {
            with_store(
                xsh,
                lg,
                domid,
                site!("xlchannel_xs_channel_getinfo"),
                |store| {
                    let (Some(ch), Some(info)) = (channel.as_ref(), channelinfo.as_mut()) else {
                        return Err(Error::Invalid("NULL channel or channelinfo".into()));
                    };
                    device_ops::getinfo(store, t, domid, ch, info)
                },
            )
        }
    })
}

/// The channel part of libxl's `libxl__need_xenpv_qemu`: 1 when a channel of `channels` is
/// served by `local_domid` (xenconsoled serves only the primary console, so such a channel
/// needs a qemu there), else 0; a logged `libxl_error` for bad arguments or an unknown
/// `backend_domname`. The rest of the decision (vfb, 9pfs, qdisk, qusb, HVM) stays libxl's.
///
/// # Safety
/// `ctx` is NULL or live; `channels` is NULL or points to `num` initialised channels.
#[no_mangle]
pub unsafe extern "C" fn xlchannel_channels_need_qemu(
    ctx: *mut libxl_ctx,
    channels: *const libxl_device_channel,
    num: c_int,
    local_domid: u32,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            super::devicemodel::xlchannel_need_xenpv_qemu(
                ctx,
                libxl_domain_type::LIBXL_DOMAIN_TYPE_PV as c_int,
                channels,
                num,
                0,
                0,
                0,
                0,
                local_domid,
            )
        }
    })
}
