//! A small QMP client for a domain's device model: the greeting, `qmp_capabilities`, and
//! the chardev commands channel hotplug needs. QMP is one JSON object per line over a Unix
//! socket; the crate's own JSON parser reads the replies (its yajl rules accept all qemu
//! sends), and the few command shapes are written here.
//!
//! Every wait is bounded: a reply that does not come within [`REPLY_TIMEOUT`] is an error.

use crate::error::{code, Error, Result};
use crate::json::{self, Value};
use std::ffi::CString;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where libxl's device models put their QMP sockets.
pub const DEFAULT_RUN_DIR: &str = "/var/run/xen";
/// Names another run directory (the tests' private qemu).
pub const RUN_DIR_ENV: &str = "XLCHANNEL_RUN_DIR";
/// How long one reply (or the greeting) may take.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// A reply line longer than this is not QMP talking.
const MAX_LINE: usize = 1 << 20;

/// libxl's QMP socket of `domid`'s device model: `<run dir>/qmp-libxl-<domid>`.
pub fn socket_path(domid: u32) -> PathBuf {
    let dir = std::env::var_os(RUN_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_RUN_DIR), PathBuf::from);
    dir.join(format!("qmp-libxl-{domid}"))
}

/// The character device backend of a channel, as its `-chardev` argument describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChardevBackend {
    Pty,
    /// A listening Unix socket (`server=on,wait=off`).
    Socket(CString),
}

/// One entry of `query-chardev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChardevInfo {
    pub label: String,
    pub filename: String,
}

/// libxl's error code for a QMP error class.
pub fn error_class_code(class: &[u8]) -> i32 {
    match class {
        b"GenericError" => code::ERROR_QMP_GENERIC_ERROR,
        b"CommandNotFound" => code::ERROR_QMP_COMMAND_NOT_FOUND,
        b"DeviceNotActive" => code::ERROR_QMP_DEVICE_NOT_ACTIVE,
        b"DeviceNotFound" => code::ERROR_QMP_DEVICE_NOT_FOUND,
        _ => code::ERROR_UNKNOWN_QMP_ERROR,
    }
}

fn protocol(message: String) -> Error {
    Error::Qmp(code::ERROR_PROTOCOL_ERROR_QMP, message)
}

/// A JSON string for QMP, whose parser takes UTF-8 only.
pub fn json_string(value: &[u8]) -> Result<String> {
    let text = std::str::from_utf8(value).map_err(|_| {
        Error::Invalid(format!(
            "'{}' is not UTF-8, which QMP cannot carry",
            String::from_utf8_lossy(value)
        ))
    })?;
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// The arguments of `chardev-add` for chardev `id`.
pub fn chardev_add_arguments(id: &str, backend: &ChardevBackend) -> Result<String> {
    let backend = match backend {
        ChardevBackend::Pty => r#"{"type": "pty", "data": {}}"#.to_owned(),
        ChardevBackend::Socket(path) => format!(
            r#"{{"type": "socket", "data": {{"addr": {{"type": "unix", "data": {{"path": {}}}}}, "server": true, "wait": false}}}}"#,
            json_string(path.as_bytes())?
        ),
    };
    Ok(format!(
        r#"{{"id": {}, "backend": {backend}}}"#,
        json_string(id.as_bytes())?
    ))
}

/// A connection to a device model's QMP monitor, past the capabilities negotiation.
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    path: PathBuf,
}

impl Qmp {
    /// Connect to the monitor at `path`, read its greeting and leave capabilities
    /// negotiation mode.
    pub fn connect(path: &Path) -> Result<Qmp> {
        let fail = |what: &str, e: std::io::Error| {
            Error::Fail(format!(
                "device model QMP socket {}: {what}: {e}",
                path.display()
            ))
        };
        let stream = UnixStream::connect(path).map_err(|e| fail("connect", e))?;
        stream
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(REPLY_TIMEOUT)))
            .map_err(|e| fail("set timeouts", e))?;
        let writer = stream.try_clone().map_err(|e| fail("clone", e))?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
            path: path.to_owned(),
        };
        let greeting = qmp.read_message()?;
        if greeting.get(b"QMP").is_none() {
            return Err(protocol(format!(
                "{}: the first message is not a QMP greeting",
                path.display()
            )));
        }
        qmp.execute("qmp_capabilities", None)?;
        Ok(qmp)
    }

    /// The next message qemu sends, as a JSON map.
    fn read_message(&mut self) -> Result<Value> {
        let mut line = Vec::new();
        let read =
            std::io::Read::take(&mut self.reader, MAX_LINE as u64).read_until(b'\n', &mut line);
        match read {
            Ok(0) => {
                return Err(Error::Fail(format!(
                    "device model QMP socket {}: qemu closed the connection",
                    self.path.display()
                )))
            }
            Ok(_) if !line.ends_with(b"\n") => {
                return Err(protocol(format!(
                    "{}: a QMP message without an end of line",
                    self.path.display()
                )))
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(Error::Fail(format!(
                    "device model QMP socket {}: no answer within {} s",
                    self.path.display(),
                    REPLY_TIMEOUT.as_secs()
                )))
            }
            Err(e) => {
                return Err(Error::Fail(format!(
                    "device model QMP socket {}: read: {e}",
                    self.path.display()
                )))
            }
        }
        let value = json::parse(&line).map_err(|e| {
            protocol(format!(
                "{}: unparseable QMP message: {e:?}",
                self.path.display()
            ))
        })?;
        match value {
            Value::Map(_) => Ok(value),
            _ => Err(protocol(format!(
                "{}: a QMP message that is not an object",
                self.path.display()
            ))),
        }
    }

    /// Run `command` with `arguments` (a JSON object's text) and return its `return` value;
    /// an `error` reply becomes libxl's code for its class, with qemu's description.
    /// Events that arrive meanwhile are skipped.
    pub fn execute(&mut self, command: &str, arguments: Option<&str>) -> Result<Value> {
        let request = match arguments {
            Some(a) => format!(
                "{{\"execute\": {}, \"arguments\": {a}}}\n",
                json_string(command.as_bytes())?
            ),
            None => format!("{{\"execute\": {}}}\n", json_string(command.as_bytes())?),
        };
        self.writer.write_all(request.as_bytes()).map_err(|e| {
            Error::Fail(format!(
                "device model QMP socket {}: write: {e}",
                self.path.display()
            ))
        })?;
        loop {
            let mut reply = self.read_message()?;
            if reply.get(b"event").is_some() {
                continue;
            }
            if let Some(error) = reply.get(b"error") {
                let text = |key: &[u8]| match error.get(key) {
                    Some(Value::String(s)) => String::from_utf8_lossy(s).into_owned(),
                    _ => String::new(),
                };
                let class = text(b"class");
                return Err(Error::Qmp(
                    error_class_code(class.as_bytes()),
                    format!("qemu refused {command}: {} ({class})", text(b"desc")),
                ));
            }
            if let Value::Map(entries) = &mut reply {
                if let Some(i) = entries.iter().position(|(k, _)| k == b"return") {
                    return Ok(entries.swap_remove(i).1);
                }
            }
            return Err(protocol(format!(
                "{}: a reply to {command} without return or error",
                self.path.display()
            )));
        }
    }

    /// `chardev-add`: for a pty, the pty's path qemu opened.
    pub fn chardev_add(&mut self, id: &str, backend: &ChardevBackend) -> Result<Option<CString>> {
        let arguments = chardev_add_arguments(id, backend)?;
        let reply = self.execute("chardev-add", Some(&arguments))?;
        match (backend, reply.get(b"pty")) {
            (ChardevBackend::Pty, Some(Value::String(pty))) => CString::new(pty.clone())
                .map(Some)
                .map_err(|_| protocol(format!("chardev-add {id}: a pty path with a NUL byte"))),
            (ChardevBackend::Pty, _) => Err(protocol(format!(
                "chardev-add {id}: the reply names no pty"
            ))),
            (ChardevBackend::Socket(_), _) => Ok(None),
        }
    }

    pub fn chardev_remove(&mut self, id: &str) -> Result<()> {
        let arguments = format!("{{\"id\": {}}}", json_string(id.as_bytes())?);
        self.execute("chardev-remove", Some(&arguments)).map(drop)
    }

    pub fn query_chardev(&mut self) -> Result<Vec<ChardevInfo>> {
        let reply = self.execute("query-chardev", None)?;
        let Value::Array(items) = &reply else {
            return Err(protocol("query-chardev: the reply is not a list".into()));
        };
        let text = |v: &Value, key: &[u8]| match v.get(key) {
            Some(Value::String(s)) => Some(String::from_utf8_lossy(s).into_owned()),
            _ => None,
        };
        items
            .iter()
            .map(
                |item| match (text(item, b"label"), text(item, b"filename")) {
                    (Some(label), Some(filename)) => Ok(ChardevInfo { label, filename }),
                    _ => Err(protocol(
                        "query-chardev: an entry without label or filename".into(),
                    )),
                },
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chardev_add_arguments_match_the_chardev_options() {
        assert_eq!(
            chardev_add_arguments("libxl-channel3", &ChardevBackend::Pty).unwrap(),
            r#"{"id": "libxl-channel3", "backend": {"type": "pty", "data": {}}}"#
        );
        assert_eq!(
            chardev_add_arguments(
                "libxl-channel1",
                &ChardevBackend::Socket(c"/run/a \"b\",c\\d".to_owned())
            )
            .unwrap(),
            r#"{"id": "libxl-channel1", "backend": {"type": "socket", "data": {"addr": {"type": "unix", "data": {"path": "/run/a \"b\",c\\d"}}, "server": true, "wait": false}}}"#
        );
        assert_eq!(
            json_string(b"a\x01\n\x7f").unwrap(),
            r#""a\u0001\u000a\u007f""#
        );
        assert_eq!(
            json_string(b"/run/\xff").unwrap_err().to_string(),
            "'/run/\u{fffd}' is not UTF-8, which QMP cannot carry"
        );
    }

    #[test]
    fn error_classes_map_to_libxl_codes() {
        assert_eq!(error_class_code(b"GenericError"), -28);
        assert_eq!(error_class_code(b"CommandNotFound"), -29);
        assert_eq!(error_class_code(b"DeviceNotActive"), -30);
        assert_eq!(error_class_code(b"DeviceNotFound"), -31);
        assert_eq!(error_class_code(b"KVMMissingCap"), -27);
    }
}
