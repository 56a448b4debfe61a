//! The library context behind `libxl_ctx`.
//!
//! Stand-alone, the context is this library's own ([`Context`], allocated by
//! `libxl_ctx_alloc`). Embedded in libxenlight (feature `embedded`), `libxl_ctx` is libxl's own
//! context: [`Context`] is then an opaque view of it, and its logger and xenstore handle are
//! fetched through the accessors of the C glue compiled inside libxl (`libxl/glue/`).
//! Everything else uses the same methods in both builds.

use crate::error::Error;
#[cfg(not(feature = "embedded"))]
use crate::error::Result;
use crate::ffi::types::xentoollog_logger;
use crate::log::{Level, Logger, Site};
use crate::xenstore::XenStore;

/// `LIBXL_VERSION` of the ABI this library implements.
/// cbindgen:ignore
pub const LIBXL_ABI_VERSION: i32 = 0;

/// The library context (`libxl_ctx`): what every call made with it shares, such as the
/// caller's logger and the xenstore connection. Like libxl's (Debian's `libxl.h`: "libxl_ctx
/// is thread-safe"), one context may be used by several threads at once: their calls take
/// turns on the context's connection, which a call may open again after xenstored stopped
/// answering (`src/xenstore`), and each call runs its own xenstore transactions
/// (`c-tests/test_threads.c`: 8 threads on one context). Messages go to the caller's logger
/// from whichever thread makes the call, as libxl's do.
#[cfg(not(feature = "embedded"))]
pub struct Context {
    logger: Logger,
    store: std::sync::Mutex<XenStore>,
}

// SAFETY: the connection is only reached through its mutex; the logger is called as libxl
// calls its logger (the caller's, whose thread-safety is the caller's business as with
// libxl; ours is xentoollog's stdio logger over stderr) and is never changed after `new`.
#[cfg(not(feature = "embedded"))]
unsafe impl Sync for Context {}
// SAFETY: nothing in a Context belongs to the thread that made it.
#[cfg(not(feature = "embedded"))]
unsafe impl Send for Context {}

#[cfg(not(feature = "embedded"))]
impl Context {
    /// libxl_ctx_alloc: check the caller's ABI version, adopt its logger and connect to
    /// xenstore (`XENSTORED_PATH` names the daemon's socket, as for libxenstore).
    pub fn new(version: i32, logger: *mut xentoollog_logger) -> Result<Context> {
        if version != LIBXL_ABI_VERSION {
            return Err(Error::Version(format!(
                "caller built for LIBXL_VERSION {version}, this library implements {LIBXL_ABI_VERSION}"
            )));
        }
        let logger = Logger::new(logger)
            .ok_or_else(|| Error::Fail("cannot create a logger on stderr".into()))?;
        let store = XenStore::open()
            .map_err(|e| Error::Fail(format!("cannot connect to xenstore: {e}")))?;
        Ok(Context {
            logger,
            store: std::sync::Mutex::new(store),
        })
    }

    /// The context's connection, for one call (the other threads' calls wait).
    pub fn store(&self) -> std::sync::MutexGuard<'_, XenStore> {
        // A call that panicked (caught at the C boundary) leaves the connection usable.
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn logger(&self) -> &Logger {
        &self.logger
    }

    fn raw_logger(&self) -> *mut xentoollog_logger {
        self.logger.raw()
    }
}

/// libxl's own context, seen from inside libxenlight; only ever handled by reference.
/// cbindgen:ignore
#[cfg(feature = "embedded")]
#[repr(C)]
pub struct Context {
    _opaque: [u8; 0],
}

/// `CTX->lg` and `CTX->xsh`, from libxl/glue/libxl_channel_glue.c.
/// cbindgen:ignore
#[cfg(feature = "embedded")]
mod glue {
    use super::Context;
    use crate::ffi::types::xentoollog_logger;
    extern "C" {
        pub fn xlchannel_glue_ctx_logger(ctx: *const Context) -> *mut xentoollog_logger;
        pub fn xlchannel_glue_ctx_xsh(ctx: *const Context) -> *mut crate::xenstore::XsHandle;
    }
}
#[cfg(feature = "embedded")]
use glue::*;

#[cfg(feature = "embedded")]
impl Context {
    /// libxl's xenstore handle, lent for the call (libxl keeps it open as long as the context).
    pub fn store(&self) -> XenStore {
        // SAFETY: `self` is a live libxl context; its handle lives as long as it does.
        unsafe { XenStore::borrowed(xlchannel_glue_ctx_xsh(self)) }
            .expect("a libxl context always holds a xenstore handle")
    }

    pub fn logger(&self) -> Logger {
        Logger::borrowed(self.raw_logger()).expect("a libxl context always holds a logger")
    }

    fn raw_logger(&self) -> *mut xentoollog_logger {
        // SAFETY: `self` is a live libxl context.
        unsafe { xlchannel_glue_ctx_logger(self) }
    }
}

impl Context {
    pub fn log(&self, level: Level, site: Site, domid: Option<u32>, message: &str) {
        // SAFETY: the context's logger lives as long as the context.
        unsafe { crate::log::log_to(self.raw_logger(), level, -1, site, domid, message) }
    }

    /// Log an error the way libxl's LOG(ERROR, ...) does and pass it on.
    pub fn log_error(&self, site: Site, domid: Option<u32>, error: &Error) {
        self.log(Level::Error, site, domid, &error.to_string());
    }
}
