//! `libxl_device_channel_add`, `_list` and `_getinfo` over the context's xenstore connection.

use super::boundary::ffi_boundary;
use super::cstring::{self, Allocations};
use super::idl::{self, log_error, IdlStruct};
use super::types::*;
use crate::channel::store::{self, Filled};
use crate::channel::{hotplug, remove as unplug};
use crate::channel::{ChannelInfo, DeviceChannel};
use crate::error::{code, Error, Result};
use crate::site;
use crate::xenstore::{Txn, XenStore, XsTransaction, XBT_NULL};
use libc::c_int;
use std::ptr;

/// Write back what add decided, as libxl does: the devid and the resolved backend domid.
fn update_placed(channel: &mut libxl_device_channel, (devid, backend_domid): (i32, u32)) {
    channel.devid = devid;
    channel.backend_domid = backend_domid;
}

/// Add one channel. Outside a caller's transaction (XBT_NULL) this is a hotplug: the
/// chardev goes into the domain's device model first. Inside one, only the xenstore nodes
/// are written (the caller's commit could still fail, and a chardev could not be undone).
pub(crate) fn add_one(
    store: &XenStore,
    t: XsTransaction,
    domid: u32,
    channel: &mut libxl_device_channel,
) -> Result<()> {
    // SAFETY: the caller passes an initialised channel.
    let model = unsafe { channel.read() };
    let placed = match caller_transaction(t) {
        None => hotplug::add(store, domid, &model)?,
        Some(t) => store::add(store, Some(t), domid, &model)?,
    };
    update_placed(channel, placed);
    Ok(())
}

/// Remove the channel on console `channel->devid` (graceful, or forced: libxl's destroy),
/// each warning passed to `warn`.
pub(crate) fn remove_one(
    store: &XenStore,
    domid: u32,
    channel: &libxl_device_channel,
    force: bool,
    mut warn: impl FnMut(&str),
) -> Result<()> {
    for w in unplug::remove(store, domid, channel.devid, force)? {
        warn(&w);
    }
    Ok(())
}

pub(crate) fn add_at_create(
    store: &XenStore,
    t: XsTransaction,
    domid: u32,
    channels: &mut [libxl_device_channel],
) -> Result<()> {
    // SAFETY: the caller passes initialised channels.
    let models: Vec<DeviceChannel> = channels.iter().map(|c| unsafe { c.read() }).collect();
    let placed = store::add_at_create(store, caller_transaction(t), domid, &models)?;
    for (channel, p) in channels.iter_mut().zip(placed) {
        update_placed(channel, p);
    }
    Ok(())
}

/// A `malloc`'d array of channels for C, or NULL for none.
pub(crate) fn malloc_list(channels: &[DeviceChannel]) -> Result<*mut libxl_device_channel> {
    if channels.is_empty() {
        return Ok(ptr::null_mut());
    }
    // SAFETY: a fresh array of `len` structs, each filled by `store` before it is returned;
    // on failure the filled ones are disposed and the array freed.
    unsafe {
        let list = libc::calloc(channels.len(), std::mem::size_of::<libxl_device_channel>())
            .cast::<libxl_device_channel>();
        if list.is_null() {
            return Err(Error::NoMem);
        }
        for (i, c) in channels.iter().enumerate() {
            if let Err(e) = libxl_device_channel::store(c, list.add(i)) {
                for j in 0..i {
                    idl::dispose(list.add(j));
                }
                libc::free(list.cast());
                return Err(e);
            }
        }
        Ok(list)
    }
}

/// libxl's channel list as a `malloc`'d array and its length.
pub(crate) fn list(
    store: &XenStore,
    t: XsTransaction,
    domid: u32,
) -> Result<(*mut libxl_device_channel, usize)> {
    let channels = reading(store, t, |txn| store::list(txn, domid))?;
    Ok((malloc_list(&channels)?, channels.len()))
}

/// Fill the fields of `*info` that libxl's getinfo fills (a prefix of them on failure); the
/// rest of `*info` is left alone and nothing in it is freed, as in libxl.
pub(crate) fn write_info(
    info: &mut libxl_channelinfo,
    got: &ChannelInfo,
    filled: Filled,
) -> Result<()> {
    info.devid = got.devid;
    if filled == Filled::Devid {
        return Ok(());
    }
    info.backend = cstring::to_malloced(got.backend.as_deref())?;
    if filled == Filled::DevidAndBackend {
        return Ok(());
    }
    let mut strings = Allocations::default();
    let frontend = strings.string(got.frontend.as_ref())?;
    let pty_path = strings.string(got.pty_path.as_ref())?;
    strings.keep();
    info.backend_id = got.backend_id;
    info.state = got.state;
    info.frontend = frontend;
    info.frontend_id = got.frontend_id;
    info.rref = got.rref;
    info.evtch = got.evtch;
    info.connection = got.connection;
    if got.pty_path.is_some() {
        info.u.pty.path = pty_path;
    }
    Ok(())
}

/// libxl's getinfo over `store`, within the caller's transaction `t` (or plain reads for
/// XBT_NULL), written into `*info` once the reads are done.
pub(crate) fn getinfo(
    store: &XenStore,
    t: XsTransaction,
    domid: u32,
    channel: &libxl_device_channel,
    info: &mut libxl_channelinfo,
) -> Result<()> {
    // SAFETY: the caller passes an initialised channel.
    let model = unsafe { channel.read() };
    let (got, filled, outcome) = reading(store, t, |txn| Ok(store::getinfo(txn, domid, &model)))?;
    write_info(info, &got, filled)?;
    outcome
}

/// Read inside the caller's transaction `t`, or for XBT_NULL without a transaction, as libxl
/// reads.
pub(crate) fn reading<T>(
    store: &XenStore,
    t: XsTransaction,
    work: impl FnOnce(&Txn<'_>) -> Result<T>,
) -> Result<T> {
    if t == XBT_NULL {
        work(&store.plain()?)
    } else {
        work(&store.within(t))
    }
}

/// The caller's transaction to write in, or `None` (XBT_NULL): transactions of our own.
fn caller_transaction(t: XsTransaction) -> Option<XsTransaction> {
    (t != XBT_NULL).then_some(t)
}

/// The channels of `domid` as libxl 4.17 lists them (numbered 0, 1, 2... in xenstore order;
/// entry k is console k+1 when the consoles are 1..n). Returns a `malloc`'d array of `*num`
/// initialised channels — NULL with `*num` 0 when there are none or on error (logged).
/// Free it with `libxl_device_channel_list_free`.
///
/// # Safety
/// `ctx` is NULL or live; `num` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn libxl_device_channel_list(
    ctx: *mut libxl_ctx,
    domid: u32,
    num: *mut c_int,
) -> *mut libxl_device_channel {
    ffi_boundary!(ptr::null_mut(), {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            let site = site!("libxl_device_channel_list");
            if let Some(n) = num.as_mut() {
                *n = 0;
            }
            let (Some(c), Some(n)) = (ctx.as_ref(), num.as_mut()) else {
                log_error(ctx, site, &Error::Invalid("NULL ctx or num".into()));
                return ptr::null_mut();
            };
            let result = list(&c.store(), XBT_NULL, domid);
            match result {
                Ok((list, len)) => {
                    *n = c_int::try_from(len).unwrap_or(c_int::MAX);
                    list
                }
                Err(e) => {
                    c.log_error(site, Some(domid), &e);
                    c.log(
                        crate::log::Level::Error,
                        site,
                        Some(domid),
                        "Unable to list channels",
                    );
                    ptr::null_mut()
                }
            }
        }
    })
}

/// State of the channel numbered `channel->devid` by `libxl_device_channel_list`, as libxl
/// 4.17 reports it: ERROR_FAIL when the console has no backend recorded. The fields of
/// `*channelinfo` are overwritten (not freed) as in libxl; dispose it afterwards, also on
/// failure.
///
/// # Safety
/// `ctx` is NULL or live; `channel` is NULL or initialised; `channelinfo` is NULL or
/// initialised.
#[no_mangle]
pub unsafe extern "C" fn libxl_device_channel_getinfo(
    ctx: *mut libxl_ctx,
    domid: u32,
    channel: *const libxl_device_channel,
    channelinfo: *mut libxl_channelinfo,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        // SAFETY: the pointers are as this function's contract says.
        unsafe {
            let site = site!("libxl_device_channel_getinfo");
            let (Some(c), Some(ch), Some(info)) =
                (ctx.as_ref(), channel.as_ref(), channelinfo.as_mut())
            else {
                log_error(
                    ctx,
                    site,
                    &Error::Invalid("NULL ctx, channel or channelinfo".into()),
                );
                return code::ERROR_INVAL;
            };
            let result = getinfo(&c.store(), XBT_NULL, domid, ch, info);
            match result {
                Ok(()) => 0,
                Err(e) => {
                    c.log_error(site, Some(domid), &e);
                    e.code()
                }
            }
        }
    })
}
