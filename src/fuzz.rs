//! Deterministic fuzzing of the parsers that read untrusted bytes, with std only, run by
//! `cargo test` (so by `make check`) in bounded time.
//!
//! Each target starts from known-good inputs and mutates them with the bytes its grammar
//! cares about (quotes, brackets, escapes, separators), splices inputs together, repeats
//! pieces (deep nesting), or draws plain random bytes. A target checks that its parser
//! returns, without panicking, within the target's time budget, and checks properties of the
//! result: differential against a small reference model, or a round trip.
//!
//! Inputs come from a fixed-seed generator, so a failure is reproducible; it names the input,
//! which then belongs in a named regression test next to the parser.
//! `XLCHANNEL_FUZZ_SCALE=N` multiplies every target's rounds and budget, for a longer run.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// xorshift64*: a fixed, dependency-free stream of pseudo-random numbers.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True once in `n` times.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

/// What a target's inputs are made of.
pub struct Grammar<'a> {
    /// Known-good inputs, mutated and spliced.
    pub seeds: &'a [&'a [u8]],
    /// Tokens that matter to the parser, inserted whole.
    pub tokens: &'a [&'a [u8]],
    /// Single bytes that matter to the parser, plus a few arbitrary ones.
    pub alphabet: &'a [u8],
}

/// Bytes of `input` in a form that can be pasted into a Rust byte-string literal.
pub fn escaped(input: &[u8]) -> String {
    input
        .iter()
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect()
}

impl Grammar<'_> {
    /// One input: plain random bytes now and then, otherwise a seed after 1 to 8 mutations.
    pub fn input(&self, rng: &mut Rng) -> Vec<u8> {
        if rng.one_in(10) {
            let len = rng.below(100);
            return (0..len)
                .map(|_| self.alphabet[rng.below(self.alphabet.len())])
                .collect();
        }
        let mut input = rng.pick(self.seeds).to_vec();
        for _ in 0..1 + rng.below(8) {
            self.mutate(rng, &mut input);
        }
        input
    }

    fn mutate(&self, rng: &mut Rng, input: &mut Vec<u8>) {
        let at = rng.below(input.len() + 1);
        match rng.below(9) {
            0 | 1 => {
                let token = rng.pick(self.tokens);
                input.splice(at..at, token.iter().copied());
            }
            2 => input.insert(at, self.alphabet[rng.below(self.alphabet.len())]),
            3 if at < input.len() => input[at] = self.alphabet[rng.below(self.alphabet.len())],
            4 => {
                let end = (at + 1 + rng.below(8)).min(input.len());
                input.drain(at.min(end)..end);
            }
            5 => input.truncate(at),
            6 => {
                // Splice: this input's head, another seed's tail.
                let other = rng.pick(self.seeds);
                let from = rng.below(other.len() + 1);
                input.truncate(at);
                input.extend_from_slice(&other[from..]);
            }
            7 => {
                // Repeat a short piece, occasionally thousands of times (nesting, lengths).
                let end = (at + 1 + rng.below(4)).min(input.len());
                let times = if rng.one_in(20) {
                    1000 + rng.below(20_000)
                } else {
                    1 + rng.below(8)
                };
                let repeated = input[at.min(end)..end].repeat(times);
                input.splice(at..at, repeated);
            }
            _ => {
                let byte = [0x00, 0x7f, 0x80, 0xbf, 0xc0, 0xe0, 0xf0, 0xff][rng.below(8)];
                input.insert(at, byte);
            }
        }
    }
}

fn scale() -> u32 {
    std::env::var("XLCHANNEL_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

/// Runs `check` on `rounds` inputs from `generate` (seeded with `seed`) on a worker thread.
/// Fails, naming the input, when `check` panics (a parser panic or a failed property) or
/// when the whole run takes longer than `budget` (a parser that hangs or crawls).
/// Returns the number of inputs checked.
pub fn run(
    name: &str,
    seed: u64,
    rounds: usize,
    budget: Duration,
    mut generate: impl FnMut(&mut Rng) -> Vec<u8> + Send + 'static,
    check: impl Fn(&[u8]) + Send + 'static,
) -> usize {
    let rounds = rounds * scale() as usize;
    let budget = budget * scale();
    let current = Arc::new(Mutex::new(Vec::new()));
    let (done, result) = mpsc::channel();
    let worker_current = Arc::clone(&current);
    std::thread::spawn(move || {
        let mut rng = Rng(seed);
        for _ in 0..rounds {
            let input = generate(&mut rng);
            *worker_current.lock().unwrap_or_else(|e| e.into_inner()) = input.clone();
            if catch_unwind(AssertUnwindSafe(|| check(&input))).is_err() {
                let _ = done.send(Err(input));
                return;
            }
        }
        let _ = done.send(Ok(()));
    });
    let started = Instant::now();
    match result.recv_timeout(budget) {
        Ok(Ok(())) => {
            eprintln!("fuzz {name}: {rounds} inputs in {:?}", started.elapsed());
            rounds
        }
        Ok(Err(input)) => panic!("fuzz {name}: failed on b\"{}\"", escaped(&input)),
        Err(_) => {
            let input = current.lock().unwrap_or_else(|e| e.into_inner()).clone();
            panic!(
                "fuzz {name}: not done after {budget:?}; last input b\"{}\"",
                escaped(&input)
            )
        }
    }
}

#[cfg(test)]
mod targets {
    use super::*;
    use crate::channel::json::{
        channel_info_from_json, channel_info_to_json, connection_from_json, connection_to_json,
        device_channel_from_json, device_channel_to_json, device_channels_to_json,
    };
    use crate::channel::{ChannelInfo, Connection, DeviceChannel};
    use crate::json::{self, JsonWriter, Value};
    use crate::xlcfg::{channel_from_xl_spec, channels_from_xl_config, Config};
    use std::ffi::CString;

    const BUDGET: Duration = Duration::from_secs(60);

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
    /// `xlcfg::channel`): the SPEC is a C string, cut into non-empty fields at commas, each
    /// into non-empty parts at `=`; the first two parts, trimmed of C blanks, are key and
    /// value; unknown keys warn; a later key wins.
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
            return fatal(
                &warnings,
                &[b"failed to parse channel configuration: ", spec],
            );
        }
        for field in fields {
            let parts: Vec<&[u8]> = field.split(|&b| b == b'=').filter(non_empty).collect();
            if parts.len() < 2 {
                return fatal(
                    &warnings,
                    &[b"failed to parse channel configuration: ", field],
                );
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
                _ => warnings
                    .push([b"unknown channel parameter '", &key[..], b"', ignoring"].concat()),
            }
        }
        match (connection, path) {
            (2, None) => fatal(
                &warnings,
                &[b"channel connection 'socket' requires path=.."],
            ),
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
        let lines = |ds: &[crate::xlcfg::Diagnostic]| -> Vec<String> {
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

    fn check_spec(spec: &[u8]) {
        assert_eq!(ours_spec(spec), reference_spec(spec));
    }

    const SPEC: Grammar = Grammar {
        seeds: &[
            b"connection=socket,name=org.my.cloud.software.agent.version1,path=/run/a.sock",
            b"connection=pty,name=org.xenproject.guest.clipboard.0.1,backend=driver-dom",
            b" name = a=b , connection=pty,speed=fast,,",
            b"path=/p,connection=socket,connection=pty",
            b"connection=serial,name=x",
            b"=x",
            b"",
        ],
        tokens: &[
            b",",
            b"=",
            b",,",
            b"==",
            b"connection=",
            b"socket",
            b"pty",
            b"name=",
            b"path=",
            b"backend=",
            b"connection=socket",
            b" ",
            b"\t",
            b"\x0b",
            b"\0",
            b"\"",
            b"'",
            b"\\",
        ],
        alphabet: b"ab_.z09x/ \t\n\r\x0b\x0c\0,=\"'\\ptysocknme\x7f\x80\xc3\xa9\xff",
    };

    #[test]
    fn fuzz_channel_spec() {
        run(
            "channel SPEC",
            0x5eed_0001,
            40_000,
            BUDGET,
            |rng| SPEC.input(rng),
            check_spec,
        );
    }

    // ---- xl config files ----

    /// Every channel of a config reads as its string read alone as a SPEC.
    fn check_config(input: &[u8]) {
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
            }
            Err(fatal) => {
                let stderr = String::from_utf8_lossy(&fatal.stderr()).into_owned();
                assert!(!stderr.is_empty());
                assert!(!stderr.contains("internal error"), "step budget exhausted");
            }
        }
    }

    const CONFIG: Grammar = Grammar {
        seeds: &[
            include_bytes!("../examples/cloud-vm.cfg"),
            b"channel = [ 'connection=pty,name=a', \"connection=socket,path=/p\", ]\nchannel += [ ]",
            b"a = [ [ \"x\" ], 1, 0x1f ]; b = \"\\x41\\101\\q\"\nchannel = \"connection=pty\"\n",
            b"channel = [\n  \"connection=pty,name=n\" # c\n  ,\n]\n",
        ],
        tokens: &[
            b"channel = [ ", b"channel += ", b" ]\n", b"\"", b"'", b"\\", b"\\x4", b"\\12", b"[", b"]",
            b",", b";", b"\n", b"#", b" = ", b"+=", b"\"connection=pty,name=n\"",
            b"'connection=socket,path=/p'", b"\0",
        ],
        alphabet: b"ab_.z09x \t\n\r\0#=+;,[]\"'\\$():-Aq\x7f\xc3\xa9\xff",
    };

    #[test]
    fn fuzz_xl_config() {
        run(
            "xl config (structured)",
            0x5eed_0005,
            20_000,
            BUDGET,
            |rng| CONFIG.input(rng),
            check_config,
        );
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

    fn check_json(input: &[u8]) {
        match json::parse(input) {
            Ok(v) => {
                assert_eq!(json::parse(input).as_ref(), Ok(&v));
                // libxl keeps every string as a C string.
                assert!(strings(&v).iter().all(|s| !s.contains(&0)));
                // What follows a complete container or string is never read.
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

    const JSON: Grammar = Grammar {
        seeds: &[
            br#"{"a": [1, -2.5e3, "x\u00e9\ud83d\ude00\/\"\\", true, false, null, {}], "b": {"c": []}}"#,
            b"[9223372036854775807, -9223372036854775808, 9223372036854775808, 1.0e999, 1e-400, 1.0e-400]",
            b"{\n    \"name\": \"org.example\",\n    \"connection.socket\": {\n        \"path\": \"/p\"\n    }\n}\n",
            b"\"\\ud800\\u0041\\udc00\\u0000tail\"",
            b"[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]",
            b"  -0.0E+00 ",
            b"\"\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xac\"",
        ],
        tokens: &[
            b"{", b"}", b"[", b"]", b"\"", b"\\", b"\\u", b"\\ud800", b"\\udc00", b"\\u00e9", b":",
            b",", b"true", b"false", b"null", b"-", b"0", b"1e", b".5", b"E+", b"e-",
            b"9223372036854775808", b"\"k\": ", b"{\"a\": ", b"[1, ", b" ", b"\n",
        ],
        alphabet: b"{}[]\":,\\/ -+.eE0123456789tfnulrsab \t\n\x0b\x0c\r\0\x01\x1f\x7f\x80\xbf\xc3\xa9\xe2\x82\xac\xf0\xff",
    };

    #[test]
    fn fuzz_json_parse() {
        run(
            "json::parse",
            0x5eed_0002,
            40_000,
            BUDGET,
            |rng| JSON.input(rng),
            check_json,
        );
    }

    /// A random tree of the kinds libxl's writer emits, and its JSON as the writer writes it.
    fn random_tree(rng: &mut Rng, depth: usize, w: &mut JsonWriter) -> Value {
        const PIECES: &[&str] = &[
            "a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f", "\x7f", "é", "€", "😀",
            ",", ":",
        ];
        let string = |rng: &mut Rng| -> Vec<u8> {
            (0..rng.below(6))
                .flat_map(|_| rng.pick(PIECES).bytes())
                .collect()
        };
        match if depth == 0 {
            rng.below(3)
        } else {
            rng.below(5)
        } {
            0 => {
                w.null();
                Value::Null
            }
            1 => {
                let i = match rng.below(4) {
                    0 => i64::MAX,
                    1 => i64::MIN,
                    _ => rng.next() as i64 >> rng.below(64),
                };
                w.integer(i);
                Value::Integer(i)
            }
            2 => {
                let s = string(rng);
                w.string(&s);
                Value::String(s)
            }
            3 => {
                w.open_array();
                let items = (0..rng.below(4))
                    .map(|_| random_tree(rng, depth - 1, w))
                    .collect();
                w.close_array();
                Value::Array(items)
            }
            _ => {
                w.open_map();
                let entries = (0..rng.below(4))
                    .map(|_| {
                        let key = string(rng);
                        w.key(&key);
                        (key, random_tree(rng, depth - 1, w))
                    })
                    .collect();
                w.close_map();
                Value::Map(entries)
            }
        }
    }

    #[test]
    fn fuzz_json_writer_parser_round_trip() {
        let mut rng = Rng(0x5eed_0003);
        for _ in 0..5_000 {
            let mut w = JsonWriter::new();
            let tree = random_tree(&mut rng, 5, &mut w);
            let text = w.finish();
            assert_eq!(json::parse(&text).as_ref(), Ok(&tree), "{}", escaped(&text));
        }
    }

    // ---- libxl's JSON form of the channel types ----

    fn check_channel_json(input: &[u8]) {
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
        match connection_from_json(input) {
            Ok(c) => assert_eq!(
                connection_from_json(&connection_to_json(c as i32)).ok(),
                Some(c)
            ),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }

    fn channel_seeds() -> Vec<Vec<u8>> {
        let socket = DeviceChannel {
            backend_domid: 3,
            backend_domname: Some(c"driver".into()),
            devid: 2,
            name: Some(c"org.example.agent".into()),
            connection: Connection::Socket as i32,
            socket_path: Some(c"/run/a \"b\"\\c".into()),
        };
        let info = ChannelInfo {
            backend: Some(c"/local/domain/0/backend/console/7/1".into()),
            frontend_id: 7,
            devid: 1,
            state: 4,
            evtch: -1,
            rref: 12,
            connection: Connection::Pty as i32,
            pty_path: Some(c"/dev/pts/3".into()),
            ..ChannelInfo::default()
        };
        let mut seeds = vec![
            device_channel_to_json(&socket),
            device_channel_to_json(&DeviceChannel::default()),
            channel_info_to_json(&info),
            channel_info_to_json(&ChannelInfo::default()),
            connection_to_json(Connection::Pty as i32),
        ];
        for s in [
            &br#"{"devid": 3, "name": null, "connection.socket": {"path": "/p"}, "connection.pty": {}}"#[..],
            br#"{"backend_domid": 4294967295, "devid": -2147483648, "connection.unknown": {}}"#,
            br#"{"backend_id": 4294967296, "state": 2147483648, "connection.pty": {"path": null}}"#,
            br#"{"name": "a\u0000b", "name": 1, "connection.socket": [], "connection.socket": {}}"#,
            br#""SoCkEt""#,
            b"null",
        ] {
            seeds.push(s.to_vec());
        }
        seeds
    }

    #[test]
    fn fuzz_channel_from_json() {
        let seeds = channel_seeds();
        let seed_refs: Vec<&'static [u8]> = seeds.into_iter().map(|s| &*Vec::leak(s)).collect();
        let grammar = Grammar {
            seeds: Vec::leak(seed_refs),
            tokens: &[
                b"\"connection.pty\": {}, ",
                b"\"connection.socket\": {\"path\": \"/x\"}, ",
                b"\"connection.unknown\": {}, ",
                b"\"devid\": ",
                b"\"backend_domid\": ",
                b"\"backend_domname\": ",
                b"\"name\": ",
                b"\"path\": ",
                b"\"state\": ",
                b"2147483647",
                b"-2147483649",
                b"4294967296",
                b"1.5",
                b"null",
                b"\"\\u0000\"",
                b",",
                b"{",
                b"}",
                b"[",
                b"\"",
            ],
            alphabet: b"{}[]\":,\\ -.e0123456789tfnulpysockt \n\0\x80\xff",
        };
        run(
            "channel from_json",
            0x5eed_0004,
            30_000,
            BUDGET,
            move |rng| grammar.input(rng),
            check_channel_json,
        );
    }
}
