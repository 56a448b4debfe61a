//! Errors of the safe core, each carrying the `libxl_error` code the C layer returns.

use thiserror::Error;

/// The subset of libxl 4.17's `libxl_error` values this library produces.
/// Values are fixed by the libxl ABI (see `_libxl_types.h`).
pub mod code {
    pub const ERROR_VERSION: i32 = -2;
    pub const ERROR_FAIL: i32 = -3;
    pub const ERROR_NI: i32 = -4;
    pub const ERROR_NOMEM: i32 = -5;
    pub const ERROR_INVAL: i32 = -6;
    pub const ERROR_TIMEDOUT: i32 = -9;
    pub const ERROR_DEVICE_EXISTS: i32 = -17;
    pub const ERROR_DOMAIN_NOTFOUND: i32 = -21;
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// A caller-supplied value is unusable (libxl's ERROR_INVAL).
    #[error("{0}")]
    Invalid(String),
    /// Input could not be parsed or an operation failed (libxl's ERROR_FAIL).
    #[error("{0}")]
    Fail(String),
    /// The library was built for another `LIBXL_VERSION`.
    #[error("{0}")]
    Version(String),
    #[error("out of memory")]
    NoMem,
    #[error("{0}")]
    DeviceExists(String),
    #[error("{0}")]
    DomainNotFound(String),
    #[error("{0}")]
    NotImplemented(String),
    /// xenstored did not answer in time (libxl's ERROR_TIMEDOUT).
    #[error("{0}")]
    TimedOut(String),
}

impl Error {
    /// The `libxl_error` code C callers receive for this error.
    pub fn code(&self) -> i32 {
        match self {
            Error::Invalid(_) => code::ERROR_INVAL,
            Error::Fail(_) => code::ERROR_FAIL,
            Error::Version(_) => code::ERROR_VERSION,
            Error::NoMem => code::ERROR_NOMEM,
            Error::DeviceExists(_) => code::ERROR_DEVICE_EXISTS,
            Error::DomainNotFound(_) => code::ERROR_DOMAIN_NOTFOUND,
            Error::NotImplemented(_) => code::ERROR_NI,
            Error::TimedOut(_) => code::ERROR_TIMEDOUT,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
