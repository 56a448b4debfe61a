//! The library context behind `libxl_ctx`.

use crate::error::{Error, Result};
use crate::ffi::types::xentoollog_logger;
use crate::log::{Level, Logger, Site};
use crate::xenstore::XenStore;

/// `LIBXL_VERSION` of the ABI this library implements.
/// cbindgen:ignore
pub const LIBXL_ABI_VERSION: i32 = 0;

/// The library context (`libxl_ctx`): what every call made with it shares, such as the
/// caller's logger. Like libxl's, one context is used by one thread at a time.
pub struct Context {
    logger: Logger,
    store: XenStore,
}

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
