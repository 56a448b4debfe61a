//! What this library adds to libxl 4.17's channel API, in both builds, each with its
//! `LIBXL_HAVE_*` macro: `libxl_device_channel_add` (hotplug), `libxl_device_channel_remove`
//! and `_destroy` (unplug), and `libxl_device_channel_list_free`. Embedded in libxenlight,
//! add, remove and destroy are the C glue's (libxl/glue/), which wraps the same work in
//! libxl's own asynchronous-operation machinery; their declarations here serve both builds.

use super::boundary::ffi_boundary;
use super::idl;
use super::types::*;
use libc::c_int;
#[cfg(not(feature = "embedded"))]
use {
    super::device_ops::{add_one, remove_one},
    super::idl::log_error,
    crate::error::Result,
    crate::error::{code, Error},
    crate::log::Site,
    crate::site,
    crate::xenstore::XBT_NULL,
};

/// `libxl_device_channel_add` exists.
pub const LIBXL_HAVE_DEVICE_CHANNEL_ADD: c_int = 1;
/// `libxl_device_channel_list_free` exists.
pub const LIBXL_HAVE_DEVICE_CHANNEL_LIST_FREE: c_int = 1;
/// `libxl_device_channel_remove` and `libxl_device_channel_destroy` exist.
pub const LIBXL_HAVE_DEVICE_CHANNEL_REMOVE: c_int = 1;

/// Run a synchronous operation (which logs its own errors) and report it as libxl does for
/// `ao_how`: NULL returns the
/// result; a callback is called with it (before returning 0, which libxl allows for an
/// operation that completes during its initiating call). Completion by event needs libxl's
/// event loop, which this library does not have: ERROR_NI.
///
/// # Safety
/// `ao_how` is NULL or valid; `ctx` is live.
#[cfg(not(feature = "embedded"))]
unsafe fn complete(
    ctx: *mut libxl_ctx,
    ao_how: *const libxl_asyncop_how,
    site: Site,
    op: impl FnOnce() -> Result<()>,
) -> c_int {
    // SAFETY: `ao_how` is NULL or valid (this function's contract).
    let how = unsafe { ao_how.as_ref() };
    if matches!(how, Some(h) if h.callback.is_none()) {
        let e = Error::NotImplemented(
            "completion by libxl event is not supported; pass a callback or NULL ao_how".into(),
        );
        log_error(ctx, site, &e);
        return e.code();
    }
    let rc = match op() {
        Ok(()) => 0,
        Err(e) => e.code(),
    };
    // SAFETY: with a callback, `for_callback` is the union member libxl's contract uses.
    match how.and_then(|h| h.callback.map(|cb| (cb, unsafe { h.u.for_callback }))) {
        Some((callback, for_callback)) => {
            // SAFETY: the caller's callback, called once with its own argument.
            unsafe { callback(ctx, rc, for_callback) };
            0
        }
        None => rc,
    }
}

/// Add a channel to a running domain: libxl's validation and messages; `backend_domname`
/// (a number or a domain name) resolved into `backend_domid`; devid -1 picks the first free
/// console devid >= 1. The chosen devid and backend domid are written back into `*channel`.
/// An existing devid gives ERROR_DEVICE_EXISTS, a name the domain's channels already have
/// ERROR_INVAL, an unknown domain ERROR_DOMAIN_NOTFOUND. A channel served by the local
/// domain first gets its chardev in the domain's device model (QMP at
/// `$XLCHANNEL_RUN_DIR/qmp-libxl-<domid>`, run dir /var/run/xen by default); without one
/// the add fails with ERROR_FAIL and writes nothing. The channel's nodes are written in one
/// xenstore transaction. `ao_how`: NULL waits and returns the
/// result; with a callback the callback receives the result and 0 is returned; completion
/// by event is not supported (ERROR_NI). (libxl 4.17 itself does not export this.)
///
/// # Safety
/// `ctx` is NULL or live; `channel` is NULL or initialised; `ao_how` is NULL or valid.
#[cfg(not(feature = "embedded"))]
#[no_mangle]
pub unsafe extern "C" fn libxl_device_channel_add(
    ctx: *mut libxl_ctx,
    domid: u32,
    channel: *mut libxl_device_channel,
    ao_how: *const libxl_asyncop_how,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        let site = site!("libxl_device_channel_add");
        // SAFETY: `ctx` is NULL or live, `channel` NULL or initialised (the contract).
        let (Some(c), Some(ch)) = (unsafe { ctx.as_ref() }, unsafe { channel.as_mut() }) else {
            log_error(ctx, site, &Error::Invalid("NULL ctx or channel".into()));
            return code::ERROR_INVAL;
        };
        // SAFETY: `ao_how` is NULL or valid and `ctx` live (the contract).
        unsafe {
            complete(ctx, ao_how, site, || {
                add_one(&c.store(), XBT_NULL, domid, ch).inspect_err(|e| {
                    c.log_error(site, Some(domid), e);
                    c.log(
                        crate::log::Level::Error,
                        site,
                        Some(domid),
                        "Unable to add channel device",
                    );
                })
            })
        }
    })
}

/// Remove a channel (console `channel->devid`, as add returned it) and stop as libxl
/// does once the removal fails.
///
/// # Safety
/// As `libxl_device_channel_add`.
#[cfg(not(feature = "embedded"))]
unsafe fn remove_or_destroy(
    ctx: *mut libxl_ctx,
    domid: u32,
    channel: *mut libxl_device_channel,
    ao_how: *const libxl_asyncop_how,
    site: Site,
    force: bool,
) -> c_int {
    // SAFETY: `ctx` is NULL or live, `channel` NULL or initialised (the contract).
    let (Some(c), Some(ch)) = (unsafe { ctx.as_ref() }, unsafe { channel.as_ref() }) else {
        log_error(ctx, site, &Error::Invalid("NULL ctx or channel".into()));
        return code::ERROR_INVAL;
    };
    // SAFETY: `ao_how` is NULL or valid and `ctx` live (the contract).
    unsafe {
        complete(ctx, ao_how, site, || {
            remove_one(&c.store(), domid, ch, force, |w| {
                c.log(crate::log::Level::Warn, site, Some(domid), w)
            })
            .inspect_err(|e| {
                c.log_error(site, Some(domid), e);
                c.log(
                    crate::log::Level::Error,
                    site,
                    Some(domid),
                    "Unable to remove channel device",
                );
            })
        })
    }
}

/// Unplug a channel from a running domain, gracefully: libxl's device removal protocol
/// (backend `online` 0 and `state` 5; a bounded wait for the frontend to close), then the
/// channel's chardev in the domain's device model and its frontend, backend and `/libxl`
/// nodes go. `channel->devid` is the console devid (as add wrote it back). All or nothing:
/// a device model that does not answer, or refuses, fails the removal with nothing removed.
/// ERROR_NOTFOUND for a console the domain does not have. `ao_how` as for add. (libxl 4.17
/// does not export this.)
///
/// # Safety
/// As `libxl_device_channel_add`.
#[cfg(not(feature = "embedded"))]
#[no_mangle]
pub unsafe extern "C" fn libxl_device_channel_remove(
    ctx: *mut libxl_ctx,
    domid: u32,
    channel: *mut libxl_device_channel,
    ao_how: *const libxl_asyncop_how,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        let site = site!("libxl_device_channel_remove");
        // SAFETY: the pointers are as this function's contract says.
        unsafe { remove_or_destroy(ctx, domid, channel, ao_how, site, false) }
    })
}

/// Remove a channel by force (libxl's destroy): no waiting for the frontend; the chardev is
/// removed from the device model when it answers (otherwise a warning, and a socket file
/// nobody listens on is deleted), and the nodes go in any case.
///
/// # Safety
/// As `libxl_device_channel_add`.
#[cfg(not(feature = "embedded"))]
#[no_mangle]
pub unsafe extern "C" fn libxl_device_channel_destroy(
    ctx: *mut libxl_ctx,
    domid: u32,
    channel: *mut libxl_device_channel,
    ao_how: *const libxl_asyncop_how,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        let site = site!("libxl_device_channel_destroy");
        // SAFETY: the pointers are as this function's contract says.
        unsafe { remove_or_destroy(ctx, domid, channel, ao_how, site, true) }
    })
}

/// Dispose `nr` channels of a list from `libxl_device_channel_list` and free the list.
/// (libxl 4.17 lacks this; callers otherwise loop over `_dispose` and `free()` the array.)
///
/// # Safety
/// `list` is NULL or a `malloc`'d array of at least `nr` initialised channels.
#[no_mangle]
pub unsafe extern "C" fn libxl_device_channel_list_free(
    list: *mut libxl_device_channel,
    nr: c_int,
) {
    ffi_boundary!((), {
        if list.is_null() {
            return;
        }
        // SAFETY: a malloc'd array of at least `nr` initialised channels (the contract),
        // each disposed once, then the array freed once.
        unsafe {
            for i in 0..usize::try_from(nr).unwrap_or(0) {
                idl::dispose(list.add(i));
            }
            libc::free(list.cast());
        }
    })
}
