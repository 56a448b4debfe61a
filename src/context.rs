//! The library context behind `libxl_ctx`.

use crate::error::{Error, Result};
use crate::ffi::types::xentoollog_logger;
use crate::log::{Level, Logger, Site};
use crate::xenstore::XenStore;

/// `LIBXL_VERSION` of the ABI this library implements.
/// cbindgen:ignore
pub const LIBXL_ABI_VERSION: i32 = 0;

/// The library context (`libxl_ctx`): what every call made with it shares, such as the
/// caller's logger. Like libxl's (Debian's `libxl.h`: "libxl_ctx is thread-safe"), one
/// context may be used by several threads at once: it holds no state that a call changes,
/// each call runs its own xenstore transactions, and libxenstore serialises the requests on
/// its handle (`c-tests/test_threads.c`: 8 threads on one context). Messages go to the
/// caller's logger from whichever thread makes the call, as libxl's do.
pub struct Context {
    logger: Logger,
    store: XenStore,
}

// SAFETY: a Context is never changed after `new`; its two handles are used concurrently only
// through libraries that allow it: libxenstore locks its handle around every request, and
// the logger is called as libxl calls its logger (the caller's, whose thread-safety is the
// caller's business as with libxl; ours is xentoollog's stdio logger over stderr).
unsafe impl Sync for Context {}
// SAFETY: nothing in a Context belongs to the thread that made it.
unsafe impl Send for Context {}

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
        Ok(Context { logger, store })
    }

    pub fn store(&self) -> &XenStore {
        &self.store
    }

    pub fn logger(&self) -> &Logger {
        &self.logger
    }

    pub fn log(&self, level: Level, site: Site, domid: Option<u32>, message: &str) {
        self.logger.log(level, -1, site, domid, message);
    }

    /// Log an error the way libxl's LOG(ERROR, ...) does and pass it on.
    pub fn log_error(&self, site: Site, domid: Option<u32>, error: &Error) {
        self.log(Level::Error, site, domid, &error.to_string());
    }
}
