//! xl 4.17's reading of `channel = [ "SPEC", ... ]`.
//!
//! A SPEC is split at commas, dropping empty fields; each field is split at `=` the same
//! way, and its first two parts, trimmed of C `isspace` blanks, are the key and the value (so
//! `name=a=b` names the channel `a`, while `=x` and `name=` are unparsable fields). Keys:
//! `backend` (backend domain name or id), `name`, `path`, `connection` (exactly `pty` or
//! `socket`, case-sensitive). A later key overrides an earlier one; `path` matters only for a
//! socket. Processing stops at the first list item that is itself a list.

use super::config::{Config, ParseError, Value};
use super::diagnostic::{write_lines, Diagnostic};
use crate::channel::{Connection, DeviceChannel};
use crate::error::Error;
use std::ffi::CString;

/// xl's exit status for every fatal configuration error (`exit(1)`).
pub const XL_FATAL_EXIT_STATUS: i32 = 1;

/// The channels of a config, and the warnings xl printed while reading them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XlChannels {
    /// In config order, devid -1 (see the module documentation of [`crate::xlcfg`]).
    pub channels: Vec<DeviceChannel>,
    pub warnings: Vec<Diagnostic>,
}

impl XlChannels {
    /// Exactly what xl writes to stderr about the channels.
    pub fn stderr(&self) -> Vec<u8> {
        let mut out = Vec::new();
        write_lines(&mut out, &self.warnings);
        out
    }
}

/// A channel SPEC xl refuses; the text of each is xl's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelSpecError {
    /// A field without a key and a value around its `=`; also an empty SPEC, where xl 4.17
    /// crashes instead.
    #[error(
        "failed to parse channel configuration: {}",
        String::from_utf8_lossy(field)
    )]
    UnparsableField { field: Vec<u8> },
    #[error("unknown channel connection '{}'", String::from_utf8_lossy(value))]
    UnknownConnection { value: Vec<u8> },
    #[error("channel has unknown 'connection'")]
    MissingConnection,
    #[error("channel connection 'socket' requires path=..")]
    SocketWithoutPath,
}

impl ChannelSpecError {
    /// The message's bytes, without a newline.
    pub fn message(&self) -> Vec<u8> {
        let quoted = |prefix: &str, text: &[u8], suffix: &str| {
            let mut out = prefix.as_bytes().to_vec();
            out.extend_from_slice(text);
            out.extend_from_slice(suffix.as_bytes());
            out
        };
        match self {
            ChannelSpecError::UnparsableField { field } => {
                quoted("failed to parse channel configuration: ", field, "")
            }
            ChannelSpecError::UnknownConnection { value } => {
                quoted("unknown channel connection '", value, "'")
            }
            _ => self.to_string().into_bytes(),
        }
    }

    /// Exactly what xl writes: its message for an unparsable field has no final newline.
    pub fn stderr(&self) -> Vec<u8> {
        let mut out = self.message();
        if !matches!(self, ChannelSpecError::UnparsableField { .. }) {
            out.push(b'\n');
        }
        out
    }
}

/// Why xl stops.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XlError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Channel(#[from] ChannelSpecError),
}

impl XlError {
    pub fn exit_status(&self) -> i32 {
        XL_FATAL_EXIT_STATUS
    }

    /// xl's message lines for this error, each without its newline.
    pub fn lines(&self) -> Vec<Diagnostic> {
        match self {
            XlError::Parse(e) => {
                let mut lines = e.report.clone();
                lines.push(Diagnostic::from(format!(
                    "Failed to parse config: {}",
                    e.failure.description()
                )));
                lines
            }
            XlError::Channel(e) => vec![Diagnostic::new(e.message())],
        }
    }

    /// Exactly what xl writes to stderr for this error.
    pub fn stderr(&self) -> Vec<u8> {
        match self {
            XlError::Parse(e) => {
                let mut out = Vec::new();
                write_lines(&mut out, &e.report);
                out.extend_from_slice(
                    format!("Failed to parse config: {}\n", e.failure.description()).as_bytes(),
                );
                out
            }
            XlError::Channel(e) => e.stderr(),
        }
    }
}

/// A fatal outcome: the warnings printed before it, then the error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct XlFatal {
    pub warnings: Vec<Diagnostic>,
    pub error: XlError,
}

impl XlFatal {
    pub fn exit_status(&self) -> i32 {
        self.error.exit_status()
    }

    /// Exactly what xl writes to stderr before exiting.
    pub fn stderr(&self) -> Vec<u8> {
        let mut out = Vec::new();
        write_lines(&mut out, &self.warnings);
        out.extend_from_slice(&self.error.stderr());
        out
    }
}

/// An unreadable file is `Fail` (input that could not be parsed); a channel SPEC xl refuses
/// is `Invalid`, as libxl's own channel checks are.
impl From<XlFatal> for Error {
    fn from(fatal: XlFatal) -> Error {
        match fatal.error {
            XlError::Parse(e) => e.into(),
            XlError::Channel(e) => Error::Invalid(e.to_string()),
        }
    }
}

/// One channel SPEC read as xl reads an item of `channel = [...]`, and xl's warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XlChannel {
    /// devid -1, as for [`channels_from_config`].
    pub channel: DeviceChannel,
    pub warnings: Vec<Diagnostic>,
}

/// Reads one channel SPEC (`"connection=pty,name=org.example"`) exactly as xl reads each
/// string of a config's `channel` list: same channel, same warnings, same fatal errors.
/// xl reads a C string, so the SPEC ends at its first NUL byte, if it has one.
pub fn channel_from_xl_spec(spec: &[u8]) -> Result<XlChannel, XlFatal> {
    let mut warnings = Vec::new();
    match channel_from_spec(spec, &mut warnings) {
        Ok(channel) => Ok(XlChannel { channel, warnings }),
        Err(e) => Err(XlFatal {
            warnings,
            error: e.into(),
        }),
    }
}

/// Parses a config file and reads its channels, as `xl create` does.
pub fn channels_from_xl_config(source: &str, data: &[u8]) -> Result<XlChannels, XlFatal> {
    let config = Config::parse(source, data).map_err(|e| XlFatal {
        warnings: Vec::new(),
        error: e.into(),
    })?;
    channels_from_config(&config)
}

/// The channels of a parsed config, with xl's warnings, or xl's fatal error.
pub fn channels_from_config(config: &Config) -> Result<XlChannels, XlFatal> {
    let mut warnings = Vec::new();
    let specs = match config.get_list("channel") {
        Ok(Some(items)) => items,
        Ok(None) => &[],
        Err(warning) => {
            warnings.push(warning);
            &[]
        }
    };
    let mut channels = Vec::new();
    for spec in specs.iter().map_while(Value::as_bytes) {
        match channel_from_spec(spec, &mut warnings) {
            Ok(channel) => channels.push(channel),
            Err(e) => {
                return Err(XlFatal {
                    warnings,
                    error: e.into(),
                })
            }
        }
    }
    Ok(XlChannels { channels, warnings })
}

/// Splits like C's `strtok`: the non-empty runs between delimiters.
fn tokens(text: &[u8], delimiter: u8) -> impl Iterator<Item = &[u8]> {
    text.split(move |&b| b == delimiter)
        .filter(|part| !part.is_empty())
}

/// Trims what C's `isspace` accepts in the C locale.
fn trim(text: &[u8]) -> &[u8] {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = text.iter().position(|b| !blank(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |i| i + 1);
    &text[start..end]
}

/// [`channel_from_spec`] cuts its SPEC at the first NUL, so this cannot fail.
fn c_string(bytes: &[u8]) -> CString {
    CString::new(bytes).unwrap_or_default()
}

fn channel_from_spec(
    spec: &[u8],
    warnings: &mut Vec<Diagnostic>,
) -> Result<DeviceChannel, ChannelSpecError> {
    // xl sees a C string. Config strings never hold a NUL (the config parser rejects them);
    // a SPEC from a Rust caller may.
    let spec = spec.split(|&b| b == 0).next().unwrap_or_default();
    let mut channel = DeviceChannel::default();
    let mut path = None;
    let mut fields = tokens(spec, b',').peekable();
    if fields.peek().is_none() {
        return Err(ChannelSpecError::UnparsableField {
            field: spec.to_vec(),
        });
    }
    for field in fields {
        let mut parts = tokens(field, b'=');
        let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
            return Err(ChannelSpecError::UnparsableField {
                field: field.to_vec(),
            });
        };
        let (key, value) = (trim(key), trim(value));
        match key {
            b"backend" => channel.backend_domname = Some(c_string(value)),
            b"name" => channel.name = Some(c_string(value)),
            b"path" => path = Some(c_string(value)),
            b"connection" => {
                channel.connection = match value {
                    b"pty" => Connection::Pty,
                    b"socket" => Connection::Socket,
                    _ => {
                        return Err(ChannelSpecError::UnknownConnection {
                            value: value.to_vec(),
                        })
                    }
                } as i32;
            }
            _ => {
                let mut warning = b"unknown channel parameter '".to_vec();
                warning.extend_from_slice(key);
                warning.extend_from_slice(b"', ignoring");
                warnings.push(Diagnostic::new(warning));
            }
        }
    }
    match channel.connection() {
        Some(Connection::Socket) => match path {
            Some(path) => channel.socket_path = Some(path),
            None => return Err(ChannelSpecError::SocketWithoutPath),
        },
        Some(Connection::Pty) => {}
        Some(Connection::Unknown) | None => return Err(ChannelSpecError::MissingConnection),
    }
    Ok(channel)
}
