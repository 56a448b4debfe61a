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
    pub const ERROR_NOTFOUND: i32 = -23;
    pub const ERROR_PROTOCOL_ERROR_QMP: i32 = -26;
    pub const ERROR_UNKNOWN_QMP_ERROR: i32 = -27;
    pub const ERROR_QMP_GENERIC_ERROR: i32 = -28;
    pub const ERROR_QMP_COMMAND_NOT_FOUND: i32 = -29;
    pub const ERROR_QMP_DEVICE_NOT_ACTIVE: i32 = -30;
    pub const ERROR_QMP_DEVICE_NOT_FOUND: i32 = -31;
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
    /// No such device (libxl's ERROR_NOTFOUND).
    #[error("{0}")]
    NotFound(String),
    /// The device model failed a request: one of libxl's QMP error codes and the reason.
    #[error("{1}")]
    Qmp(i32, String),
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
            Error::NotFound(_) => code::ERROR_NOTFOUND,
            Error::Qmp(code, _) => *code,
            Error::TimedOut(_) => code::ERROR_TIMEDOUT,
        }
    }

    /// The same error (and code), its message prefixed with `what`: which step failed.
    pub fn context(self, what: &str) -> Error {
        let at = |m: String| format!("{what}: {m}");
        match self {
            Error::Invalid(m) => Error::Invalid(at(m)),
            Error::Fail(m) => Error::Fail(at(m)),
            Error::Version(m) => Error::Version(at(m)),
            Error::NoMem => Error::NoMem,
            Error::DeviceExists(m) => Error::DeviceExists(at(m)),
            Error::DomainNotFound(m) => Error::DomainNotFound(at(m)),
            Error::NotImplemented(m) => Error::NotImplemented(at(m)),
            Error::NotFound(m) => Error::NotFound(at(m)),
            Error::Qmp(code, m) => Error::Qmp(code, at(m)),
            Error::TimedOut(m) => Error::TimedOut(at(m)),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
