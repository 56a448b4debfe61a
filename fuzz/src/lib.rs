//! The properties libFuzzer checks on xlchannel's parsers of untrusted bytes, one function per
//! fuzz target (`fuzz_targets/NAME.rs` calls `NAME`). Each one must return for every input:
//! a panic — from the parser or from a failed property — is a finding.

use std::ffi::CString;
use xlchannel::channel::json::{
    channel_info_from_json, channel_info_to_json, connection_from_json, connection_to_json,
    device_channel_from_json, device_channel_to_json, device_channels_to_json,
};
use xlchannel::channel::Connection;
use xlchannel::json::{self, JsonWriter, Value};
use xlchannel::xlcfg::{channel_from_xl_spec, channels_from_xl_config, Config, Diagnostic};

/// Bytes in a form that can be pasted into a Rust byte-string literal.
pub fn escaped(input: &[u8]) -> String {
    input
        .iter()
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect()
}

// ---- libxl's JSON form of the channel types ----

/// `libxl_device_channel`, `libxl_channelinfo` and `libxl_channel_connection` from JSON: what
/// parses writes back to JSON that parses to the same value; what fails says why.
pub fn channel_json(input: &[u8]) {
    match device_channel_from_json(input) {
        Ok(c) => {
            let text = device_channel_to_json(&c);
            assert_eq!(device_channel_from_json(&text).ok(), Some(c.clone()));
            let list = device_channels_to_json(std::slice::from_ref(&c));
            assert!(json::parse(&list).is_ok());
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    match channel_info_from_json(input) {
        Ok(i) => {
            let text = channel_info_to_json(&i);
            assert_eq!(channel_info_from_json(&text).ok(), Some(i));
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// The connection enum from a string (`_from_string`) and from JSON (`_from_json`): a name
/// matches exactly when it is one of libxl's names in any case, and both forms agree.
pub fn connection(input: &[u8]) {
    let by_name = Connection::from_name(input);
    let expected = ["unknown", "pty", "socket"]
        .iter()
        .position(|name| name.as_bytes().eq_ignore_ascii_case(input));
    assert_eq!(by_name.map(|c| c as usize), expected);
    match connection_from_json(input) {
        Ok(c) => {
            assert_eq!(
                connection_from_json(&connection_to_json(c as i32)).ok(),
                Some(c)
            );
            // The JSON was a string naming `c`.
            match json::parse(input) {
                Ok(Value::String(ref s)) => assert_eq!(Connection::from_name(s), Some(c)),
                other => panic!("accepted as a connection: {other:?}"),
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    // A string literal holding the input (as far as JSON can hold it) reads as the name does.
    if !input.contains(&0) && std::str::from_utf8(input).is_ok() {
        let mut w = JsonWriter::new();
        w.string(input);
        assert_eq!(connection_from_json(&w.finish()).ok(), by_name);
    }
}

// ---- JSON ----

/// Strings and keys of a parsed tree, without recursion (trees may be deep).
fn strings(v: &Value) -> Vec<&[u8]> {
    let (mut out, mut pending) = (Vec::new(), vec![v]);
    while let Some(v) = pending.pop() {
        match v {
            Value::String(s) => out.push(&s[..]),
            Value::Array(items) => pending.extend(items),
            Value::Map(entries) => {
                for (k, v) in entries {
                    out.push(&k[..]);
                    pending.push(v);
                }
            }
            _ => {}
        }
    }
    out
}

/// yajl's acceptance as libxl configures it: deterministic, strings are C strings, what
/// follows a complete container or string is never read, and an error points into the input.
pub fn json_parse(input: &[u8]) {
    match json::parse(input) {
        Ok(v) => {
            assert_eq!(json::parse(input).as_ref(), Ok(&v));
            assert!(strings(&v).iter().all(|s| !s.contains(&0)));
            let first = input.iter().find(|b| !b" \t\n\r\x0b\x0c".contains(b));
            if let Some(b'[' | b'{' | b'"') = first {
                let more = [input, b"]}\" junk \xff"].concat();
                assert_eq!(json::parse(&more), Ok(v));
            }
        }
        Err(e) => {
            assert!(e.offset <= input.len(), "{e}");
            assert!(!e.message.is_empty());
        }
    }
}

/// Choices drawn from the fuzzer's bytes (zeros once they run out).
struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |acc, _| acc << 8 | self.byte() as u64)
    }
}

/// A tree of the kinds libxl's writer emits, and its JSON as the writer writes it.
fn tree(c: &mut Choices<'_>, depth: usize, w: &mut JsonWriter) -> Value {
    const PIECES: &[&str] = &[
        "a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f", "\x7f", "é", "€", "😀", ",",
        ":",
    ];
    let string = |c: &mut Choices<'_>| -> Vec<u8> {
        (0..c.below(6))
            .flat_map(|_| PIECES[c.below(PIECES.len())].bytes())
            .collect()
    };
    match c.below(if depth == 0 { 3 } else { 5 }) {
        0 => {
            w.null();
            Value::Null
        }
        1 => {
            let i = match c.below(4) {
                0 => i64::MAX,
                1 => i64::MIN,
                _ => c.u64() as i64,
            };
            w.integer(i);
            Value::Integer(i)
        }
        2 => {
            let s = string(c);
            w.string(&s);
            Value::String(s)
        }
        3 => {
            w.open_array();
            let items = (0..c.below(5)).map(|_| tree(c, depth - 1, w)).collect();
            w.close_array();
            Value::Array(items)
        }
        _ => {
            w.open_map();
            let entries = (0..c.below(5))
                .map(|_| {
                    let key = string(c);
                    w.key(&key);
                    (key, tree(c, depth - 1, w))
                })
                .collect();
            w.close_map();
            Value::Map(entries)
        }
    }
}

/// What the writer writes, the parser reads back as the same tree.
pub fn json_round_trip(input: &[u8]) {
    let mut w = JsonWriter::new();
    let tree = tree(&mut Choices(input), 8, &mut w);
    let text = w.finish();
    assert_eq!(
        json::parse(&text).as_ref(),
        Ok(&tree),
        "{}",
        escaped(&text)
    );
}

// ---- channel SPECs ----

/// What reading a SPEC gives, bytes shown escaped, for comparing two readers.
#[derive(Debug, PartialEq)]
enum Spec {
    Channel {
        backend: Option<String>,
        name: Option<String>,
        connection: i32,
        path: Option<String>,
        warnings: Vec<String>,
    },
    Fatal {
        warnings: Vec<String>,
        message: String,
    },
}

fn texts(lines: &[Vec<u8>]) -> Vec<String> {
    lines.iter().map(|l| escaped(l)).collect()
}

/// The reference model: xl's reading of a SPEC restated from its documented rules (see
/// `xlcfg::channel`): the SPEC is a C string, cut into non-empty fields at commas, each into
/// non-empty parts at `=`; the first two parts, trimmed of C blanks, are key and value;
/// unknown keys warn; a later key wins.
fn reference_spec(spec: &[u8]) -> Spec {
    let spec = spec.split(|&b| b == 0).next().unwrap_or_default();
    let non_empty = |s: &&[u8]| !s.is_empty();
    let trim = |s: &[u8]| {
        let blank = |b: &u8| b" \t\n\x0b\x0c\r".contains(b);
        let start = s.iter().position(|b| !blank(b)).unwrap_or(s.len());
        let end = s.iter().rposition(|b| !blank(b)).map_or(start, |i| i + 1);
        s[start..end].to_vec()
    };
    let fatal = |warnings: &[Vec<u8>], parts: &[&[u8]]| Spec::Fatal {
        warnings: texts(warnings),
        message: escaped(&parts.concat()),
    };
    let mut warnings = Vec::new();
    let (mut backend, mut name, mut path, mut connection) = (None, None, None, 0);
    let fields: Vec<&[u8]> = spec.split(|&b| b == b',').filter(non_empty).collect();
    if fields.is_empty() {
        return fatal(&warnings, &[b"failed to parse channel configuration: ", spec]);
    }
    for field in fields {
        let parts: Vec<&[u8]> = field.split(|&b| b == b'=').filter(non_empty).collect();
        if parts.len() < 2 {
            return fatal(&warnings, &[b"failed to parse channel configuration: ", field]);
        }
        let (key, value) = (trim(parts[0]), trim(parts[1]));
        match &key[..] {
            b"backend" => backend = Some(value),
            b"name" => name = Some(value),
            b"path" => path = Some(value),
            b"connection" if value == b"pty" => connection = 1,
            b"connection" if value == b"socket" => connection = 2,
            b"connection" => {
                return fatal(&warnings, &[b"unknown channel connection '", &value, b"'"])
            }
            _ => warnings.push([b"unknown channel parameter '", &key[..], b"', ignoring"].concat()),
        }
    }
    match (connection, path) {
        (2, None) => fatal(&warnings, &[b"channel connection 'socket' requires path=.."]),
        (0, _) => fatal(&warnings, &[b"channel has unknown 'connection'"]),
        (connection, path) => Spec::Channel {
            backend: backend.map(|b| escaped(&b)),
            name: name.map(|n| escaped(&n)),
            connection,
            path: path.filter(|_| connection == 2).map(|p| escaped(&p)),
            warnings: texts(&warnings),
        },
    }
}

fn bytes(s: &Option<CString>) -> Option<String> {
    s.as_ref().map(|s| escaped(s.as_bytes()))
}

fn ours_spec(spec: &[u8]) -> Spec {
    let lines = |ds: &[Diagnostic]| -> Vec<String> {
        ds.iter().map(|d| escaped(d.as_bytes())).collect()
    };
    match channel_from_xl_spec(spec) {
        Ok(got) => {
            let c = &got.channel;
            assert_eq!(c.devid, -1);
            assert_eq!(c.backend_domid, 0);
            Spec::Channel {
                backend: bytes(&c.backend_domname),
                name: bytes(&c.name),
                connection: c.connection,
                path: bytes(&c.socket_path),
                warnings: lines(&got.warnings),
            }
        }
        Err(fatal) => {
            assert_eq!(fatal.exit_status(), 1);
            let message = fatal.error.lines();
            assert_eq!(message.len(), 1, "{message:?}");
            assert!(!fatal.stderr().is_empty());
            Spec::Fatal {
                warnings: lines(&fatal.warnings),
                message: escaped(message[0].as_bytes()),
            }
        }
    }
}

/// xl's `channel` SPEC reader reads every SPEC as the reference model of xl's rules does.
pub fn channel_spec(input: &[u8]) {
    assert_eq!(ours_spec(input), reference_spec(input));
}

// ---- xl config files ----

/// A config's channels read as its `channel` strings read one by one as SPECs; a config xl
/// refuses says why on stderr, never through the reader's internal step budget.
pub fn xl_config(input: &[u8]) {
    match channels_from_xl_config("fuzz.cfg", input) {
        Ok(got) => {
            let config = Config::parse("fuzz.cfg", input).expect("parsed once already");
            let specs = config
                .get_list("channel")
                .ok()
                .flatten()
                .unwrap_or_default();
            let alone: Vec<_> = specs
                .iter()
                .map_while(|v| v.as_bytes())
                .map(|spec| {
                    channel_from_xl_spec(spec)
                        .expect("accepted in the config")
                        .channel
                })
                .collect();
            assert_eq!(got.channels, alone);
            let _ = got.stderr();
        }
        Err(fatal) => {
            let stderr = String::from_utf8_lossy(&fatal.stderr()).into_owned();
            assert!(!stderr.is_empty());
            assert!(!stderr.contains("internal error"), "step budget exhausted");
            let _ = fatal.to_string();
        }
    }
}
