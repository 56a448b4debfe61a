//! The real xl 4.17 against `xlchannel::xlcfg`, config by config.
//!
//! Each config (a fixed PV guest plus the lines under test) is given to Debian's real xl as
//! `xl -N create guest.cfg` (dry run: parse, then print the domain config as JSON) and to
//! [`channels_from_xl_config`]. Compared exactly:
//!
//! * the exit status;
//! * stderr, byte for byte, after xl's two preamble lines (the optional complaint about a
//!   missing `/etc/xen/xl.conf` and "Parsing config from guest.cfg");
//! * on success, the `channels` array of xl's JSON against ours, written by
//!   `device_channel_to_json` and indented as xl nests it; and the rest of xl's JSON (its
//!   random uuid removed) against the same guest without channels.
//!
//! One difference is known and handled explicitly: xl 4.17 gives channel i the devid i, so
//! channel 0 collides with the primary console 0; xlcfg leaves devid -1 so that domain
//! creation makes channel i console i + 1. The test checks that every channel of ours has
//! devid -1, then writes it with devid i for the comparison. Two configs crash xl 4.17 (an
//! empty channel SPEC: SIGSEGV; a NUL byte in a quoted string: an assertion, SIGABRT); for
//! them the test checks the crash and our error.
//!
//! xl comes from the test bed (`XLCHANNEL_XL`, with the preload library in `LD_PRELOAD`):
//!
//!     testbed/with-xenstored.sh cargo test --release --test xl_config_compat
//!
//! Without it the test fails: `make check` always runs the Rust tests inside the test bed, so
//! a missing xl means a broken setup, not a reason to skip.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use xlchannel::channel::json::device_channel_to_json;
use xlchannel::xlcfg::{channels_from_xl_config, ChannelSpecError, XlChannels, XlError, XlFatal};

const FILE_NAME: &str = "guest.cfg";

/// What every config starts with: enough for xl to get as far as the channels.
const GUEST: &str = "name = \"compat\"\nmemory = 128\nkernel = \"/nonexistent/vmlinuz\"\n";

const XL_CONF_MISSING: &str =
    "Failed to read config file: /etc/xen/xl.conf: No such file or directory\n";

const NO_XL: &str = "XLCHANNEL_XL is not set: this test compares with the real xl 4.17 of \
                     the test bed; run `testbed/fetch-xen.sh` once, then \
                     `testbed/with-xenstored.sh cargo test --release --test xl_config_compat`";

const SIGSEGV: i32 = 11;
const SIGABRT: i32 = 6;

enum Xl {
    /// xl and xlcfg must agree.
    Agrees,
    /// xl 4.17 dies from this signal; xlcfg must fail with this stderr instead.
    Crashes { signal: i32, ours: &'static str },
}

struct Case {
    name: &'static str,
    /// Appended to [`GUEST`].
    lines: &'static [u8],
    xl: Xl,
}

const fn agrees(name: &'static str, lines: &'static [u8]) -> Case {
    Case {
        name,
        lines,
        xl: Xl::Agrees,
    }
}

const CASES: &[Case] = &[
    agrees(
        "pty and socket",
        b"channel = [ \"connection=pty,name=org.a\", \"name=org.b,connection=socket,path=/run/b.sock\" ]\n",
    ),
    agrees(
        "quoting and escapes",
        b"channel = [ 'connection=pty,name=it\\'s', \"connection=pty,name=q\\\"q\\\\\", \"connection=pty,name=ab\\123c\" ]\n",
    ),
    agrees(
        "escape error",
        b"channel = [ \"connection=pty,name=\\x41\" ]\n",
    ),
    agrees(
        "comments, semicolons, multi-line list, trailing comma",
        b"# channels\nzz = 1; channel = [ # the agent\n  \"connection=pty,name=a\",\n\n  'connection=pty,name=b', # second\n]\n",
    ),
    agrees(
        "field without =",
        b"channel = [ \"connection=pty,name\" ]\n",
    ),
    agrees(
        "field with an empty key",
        b"channel = [ \"=x,connection=pty\" ]\n",
    ),
    agrees(
        "field with an empty value",
        b"channel = [ \"name=,connection=pty\" ]\n",
    ),
    agrees(
        "unknown connection (case-sensitive)",
        b"channel = [ \"connection=PTY\" ]\n",
    ),
    agrees(
        "no connection",
        b"channel = [ \"name=org.x\" ]\n",
    ),
    agrees(
        "socket without path",
        b"channel = [ \"name=org.x,connection=socket\" ]\n",
    ),
    agrees(
        "unknown keys warn, then a later channel fails",
        b"channel = [ \"foo=bar,connection=pty, bar = baz\", \"x=1,connection=tcp\" ]\n",
    ),
    agrees(
        "pty with a path",
        b"channel = [ \"connection=pty,path=/ignored,name=p\" ]\n",
    ),
    agrees(
        "repeated keys in a SPEC",
        b"channel = [ \"connection=socket,path=/a,name=a,name=b,path=/b\", \"connection=socket,path=/c,connection=pty\" ]\n",
    ),
    agrees(
        "repeated and appended channel settings",
        b"channel = [ \"connection=pty,name=lost\" ]\nchannel = [ \"connection=pty,name=first\" ]\nchannel += [ \"connection=pty,name=second\" ]\n",
    ),
    agrees(
        "empty fields and whitespace",
        b"channel = [ \" , name = a b ,, connection = pty , \", \"\\tname=\\tx\\t,connection=pty\" ]\n",
    ),
    agrees(
        "value up to the second =",
        b"channel = [ \"name=a=b,connection=pty\", \" = ,connection=pty\" ]\n",
    ),
    agrees(
        "backend",
        b"channel = [ \"backend=driver-dom,connection=socket,path=/s\" ]\n",
    ),
    agrees(
        "channel as a single string",
        b"channel = \"connection=pty\"\n",
    ),
    agrees(
        "a nested list stops the channels",
        b"channel = [ \"connection=pty,name=kept\", [ \"x\" ], \"connection=pty,name=dropped\" ]\n",
    ),
    agrees("empty channel list", b"channel = [ ]\nzz.other = \"ignored\"\n"),
    agrees(
        "syntax errors with recovery",
        b"zz = =\nchannel = [ \"connection=pty\" ]\nzz = ]\n",
    ),
    agrees(
        "unclosed list at end of file",
        b"channel = [ \"connection=pty\",\n",
    ),
    agrees(
        "lexical errors and the Python warning",
        b"Channel = [ \"connection=pty\" ]\nzz = 1 + 2\n",
    ),
    agrees(
        "adding a string to a list",
        b"channel = [ \"connection=pty\" ]\nchannel += \"connection=pty\"\n",
    ),
    agrees(
        "last statement without newline",
        b"channel = [ \"connection=pty,name=last\" ]",
    ),
    Case {
        name: "empty SPEC",
        lines: b"channel = [ \"\" ]\n",
        xl: Xl::Crashes {
            signal: SIGSEGV,
            ours: "failed to parse channel configuration: ",
        },
    },
    Case {
        name: "NUL byte in a quoted string",
        lines: b"channel = [ \"connection=pty,name=a\0b\" ]\n",
        xl: Xl::Crashes {
            signal: SIGABRT,
            ours: "guest.cfg:4: config parsing error near `\"connection=pty,name=a': NUL byte in quoted string\n\
                   Failed to parse config: Invalid argument\n",
        },
    },
];

struct XlRun {
    status: std::process::ExitStatus,
    stdout: String,
    /// stderr after xl's preamble.
    stderr: Vec<u8>,
}

struct Bed {
    xl: PathBuf,
    dir: PathBuf,
    /// xl's JSON for [`GUEST`] alone, uuid removed.
    baseline: Vec<String>,
}

impl Bed {
    fn new() -> Bed {
        let Some(xl) = std::env::var_os("XLCHANNEL_XL").map(PathBuf::from) else {
            panic!("{NO_XL}");
        };
        assert!(xl.is_file(), "XLCHANNEL_XL={} is not a file", xl.display());
        // One directory per test: the tests run in parallel and xl reads a fixed file name.
        static BEDS: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xl-config-compat.{}.{}",
            std::process::id(),
            BEDS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("creating the work directory");
        let mut bed = Bed {
            xl,
            dir,
            baseline: Vec::new(),
        };
        let run = bed.run_xl(GUEST.as_bytes());
        assert!(run.status.success(), "xl rejects the bare guest: {run:?}");
        bed.baseline = without_uuid(&run.stdout);
        bed
    }

    fn run_xl(&self, config: &[u8]) -> XlRun {
        std::fs::write(self.dir.join(FILE_NAME), config).expect("writing the config");
        let run = self.run_xl_on(None);
        // With the rebuilt libxenlight of `make libxl` named, the same xl must print the
        // same on it (the uuid aside, which xl makes up anew each run).
        if let Some(rebuilt) = std::env::var_os("XLCHANNEL_REBUILT_LIBXL") {
            let again = self.run_xl_on(Some(&rebuilt));
            assert!(
                again.status == run.status
                    && again.stderr == run.stderr
                    && without_uuid(&again.stdout) == without_uuid(&run.stdout),
                "xl -N create differs on the rebuilt libxenlight:\n{config:?}\nDebian's: {run:?}\nrebuilt: {again:?}",
                config = String::from_utf8_lossy(config)
            );
        }
        run
    }

    /// xl on Debian's libxenlight, or on the one in `lib_dir`.
    fn run_xl_on(&self, lib_dir: Option<&std::ffi::OsStr>) -> XlRun {
        let mut xl = Command::new(&self.xl);
        xl.args(["-N", "create", FILE_NAME]).current_dir(&self.dir);
        if let Some(dir) = lib_dir {
            xl.env("LD_LIBRARY_PATH", dir);
        }
        let out = xl.output().expect("running xl");
        let stderr = out
            .stderr
            .strip_prefix(XL_CONF_MISSING.as_bytes())
            .unwrap_or(&out.stderr);
        let preamble = format!("Parsing config from {FILE_NAME}\n");
        let stderr = stderr
            .strip_prefix(preamble.as_bytes())
            .unwrap_or_else(|| {
                panic!(
                    "xl's stderr does not start with its preamble: {:?}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .to_vec();
        XlRun {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
        }
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl std::fmt::Debug for XlRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status {:?}, stderr {:?}, stdout {:?}",
            self.status,
            String::from_utf8_lossy(&self.stderr),
            self.stdout
        )
    }
}

fn without_uuid(json: &str) -> Vec<String> {
    json.lines()
        .filter(|line| !line.trim_start().starts_with("\"uuid\": "))
        .map(str::to_owned)
        .collect()
}

/// Splits xl's JSON into its `channels` array items (the text between the brackets) and
/// the rest; `None` when there is no `channels` key.
fn split_channels(lines: &[String]) -> (Option<String>, Vec<String>) {
    let Some(start) = lines.iter().position(|l| l == "    \"channels\": [") else {
        return (None, lines.to_vec());
    };
    let Some(len) = lines[start..]
        .iter()
        .position(|l| l == "    ]" || l == "    ],")
    else {
        panic!("unterminated channels array in {lines:#?}");
    };
    let end = start + len;
    let mut rest = lines[..start].to_vec();
    rest.extend_from_slice(&lines[end + 1..]);
    (Some(lines[start + 1..end].join("\n")), rest)
}

/// Our channels as xl 4.17 prints them: devid i, nested two levels deep.
fn channels_as_xl_prints_them(ours: &XlChannels) -> Result<Option<String>, String> {
    if ours.channels.is_empty() {
        return Ok(None);
    }
    let mut items = Vec::new();
    for (i, channel) in ours.channels.iter().enumerate() {
        if channel.devid != -1 {
            return Err(format!("channel {i} has devid {}, not -1", channel.devid));
        }
        let mut numbered_as_xl = channel.clone();
        numbered_as_xl.devid = i as i32;
        let json = String::from_utf8(device_channel_to_json(&numbered_as_xl))
            .map_err(|e| format!("channel {i}: JSON is not UTF-8: {e}"))?;
        let indented: Vec<String> = json
            .lines()
            .map(|l| {
                if l.is_empty() {
                    String::new()
                } else {
                    format!("        {l}")
                }
            })
            .collect();
        items.push(indented.join("\n"));
    }
    Ok(Some(items.join(",\n")))
}

fn ours_stderr_and_status(ours: &Result<XlChannels, XlFatal>) -> (Vec<u8>, i32) {
    match ours {
        Ok(got) => (got.stderr(), 0),
        Err(fatal) => (fatal.stderr(), fatal.exit_status()),
    }
}

/// Compares one config; returns what differs.
fn compare(bed: &Bed, config: &[u8], xl_expectation: &Xl) -> Result<(), String> {
    let xl = bed.run_xl(config);
    let ours = channels_from_xl_config(FILE_NAME, config);
    let (our_stderr, our_status) = ours_stderr_and_status(&ours);
    if let Xl::Crashes {
        signal,
        ours: expected,
    } = xl_expectation
    {
        if xl.status.signal() != Some(*signal) {
            return Err(format!(
                "xl was expected to die from signal {signal}: {xl:?}"
            ));
        }
        if our_stderr != expected.as_bytes() || our_status != 1 {
            return Err(format!(
                "ours: status {our_status}, stderr {:?}",
                String::from_utf8_lossy(&our_stderr)
            ));
        }
        return Ok(());
    }
    let mut problems = Vec::new();
    if xl.status.code() != Some(our_status) {
        problems.push(format!(
            "exit status: xl {:?}, ours {our_status}",
            xl.status
        ));
    }
    if xl.stderr != our_stderr {
        problems.push(format!(
            "stderr:\n  xl   {:?}\n  ours {:?}",
            String::from_utf8_lossy(&xl.stderr),
            String::from_utf8_lossy(&our_stderr)
        ));
    }
    match &ours {
        Ok(got) if xl.status.success() => {
            let (xl_channels, rest) = split_channels(&without_uuid(&xl.stdout));
            match channels_as_xl_prints_them(got) {
                Err(e) => problems.push(e),
                Ok(expected) if expected != xl_channels => problems.push(format!(
                    "channels:\n  xl   {xl_channels:?}\n  ours {expected:?}"
                )),
                Ok(_) => {}
            }
            if rest != bed.baseline {
                problems.push(format!("the rest of xl's JSON changed: {rest:#?}"));
            }
        }
        _ if !xl.stdout.is_empty() && !xl.status.success() => {
            problems.push(format!("xl failed but printed {:?}", xl.stdout));
        }
        _ => {}
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn with_guest(lines: &[u8]) -> Vec<u8> {
    let mut config = GUEST.as_bytes().to_vec();
    config.extend_from_slice(lines);
    config
}

#[test]
fn xl_and_xlcfg_agree_on_the_case_table() {
    let bed = Bed::new();
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|case| {
            compare(&bed, &with_guest(case.lines), &case.xl)
                .err()
                .map(|e| format!("{}:\n{e}", case.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

/// xorshift64*: a fixed, dependency-free stream of pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A random channel SPEC, quoted, from pieces that exercise xl's splitting and trimming.
fn random_spec(rng: &mut Rng) -> Vec<u8> {
    const NAMES: &[&str] = &[
        "org.a",
        " org.b ",
        "",
        " ",
        "a=b",
        "caf\u{e9}",
        "q\\\"q",
        "x'y",
        "\\t1\\123",
    ];
    const CONNECTIONS: &[&str] = &[
        "pty", "socket", " pty", "socket ", "pty", "socket", "PTY", "tcp", "",
    ];
    const PATHS: &[&str] = &["/run/a.sock", " /p ", "", "a=b"];
    const OTHER_KEYS: &[&str] = &["foo", "", " ", "Name", "path2"];
    const SEPARATORS: &[&str] = &[",", ",", ", ", " , ", ",,"];
    if rng.chance(3) {
        return rng.pick(&[&b"\"\""[..], b"\",,\""]).to_vec();
    }
    let mut spec = String::new();
    for i in 0..1 + rng.next() % 4 {
        if i > 0 {
            spec.push_str(rng.pick(SEPARATORS));
        }
        let (key, value) = match rng.next() % 10 {
            0..=2 => ("name", rng.pick(NAMES)),
            3..=5 => ("connection", rng.pick(CONNECTIONS)),
            6 | 7 => ("path", rng.pick(PATHS)),
            8 => ("backend", "dom1"),
            _ => (rng.pick(OTHER_KEYS), "v"),
        };
        spec.push_str(key);
        if !rng.chance(4) {
            spec.push_str(rng.pick(&["=", "=", "=", " = ", "=="]));
        }
        spec.push_str(value);
    }
    if rng.chance(60) {
        spec.push_str(rng.pick(&[",connection=pty", ",connection=socket,path=/s"]));
    }
    let mut out = b"\"".to_vec();
    out.extend_from_slice(spec.as_bytes());
    out.push(b'"');
    out
}

fn random_config(rng: &mut Rng) -> Vec<u8> {
    const NOISE: &[&str] = &[
        "zz = 1\n",
        "zz.a = 'x'; ",
        "# note\n",
        "\n",
        "$",
        "Q",
        "zz = ]\n",
        "[",
        "(",
        "\\x",
    ];
    let mut lines = Vec::new();
    for _ in 0..1 + rng.next() % 3 {
        if rng.chance(6) {
            lines.extend_from_slice(rng.pick(NOISE).as_bytes());
        }
        lines.extend_from_slice(if rng.chance(80) {
            b"channel = "
        } else {
            b"channel += "
        });
        if rng.chance(10) {
            lines.extend_from_slice(&random_spec(rng));
        } else {
            lines.push(b'[');
            let items = if rng.chance(10) {
                0
            } else {
                1 + rng.next() % 3
            };
            for i in 0..items {
                let separator: &[u8] = if i == 0 {
                    b" "
                } else {
                    rng.pick(&[&b", "[..], b",\n  "])
                };
                lines.extend_from_slice(separator);
                lines.extend_from_slice(&random_spec(rng));
            }
            let end: &[u8] = match rng.next() % 20 {
                0 => b"",
                1 | 2 => b",]",
                3 | 4 => b"\n]",
                _ => b" ]",
            };
            lines.extend_from_slice(end);
        }
        let end: &[u8] = match rng.next() % 20 {
            0 => b"",
            1 | 2 => b";",
            3 | 4 => b" # c\n",
            _ => b"\n",
        };
        lines.extend_from_slice(end);
    }
    with_guest(&lines)
}

/// Whether xl 4.17 crashes on the config (SIGSEGV) where xlcfg reports an unparsable
/// field: a SPEC with no field at all (empty, or only commas).
fn crashes_xl_with_an_empty_spec(config: &[u8]) -> bool {
    matches!(
        channels_from_xl_config(FILE_NAME, config),
        Err(XlFatal {
            error: XlError::Channel(ChannelSpecError::UnparsableField { field }),
            ..
        }) if field.iter().all(|&b| b == b',')
    )
}

#[test]
fn xl_and_xlcfg_agree_on_random_configs() {
    let bed = Bed::new();
    let mut rng = Rng(0x0417_c0de_5eed_0001);
    let mut failures = Vec::new();
    // How the configs fell, so a degenerate generator cannot pass unnoticed.
    let (mut with_channels, mut with_warnings, mut channel_errors, mut parse_errors) = (0, 0, 0, 0);
    let mut crashes = 0;
    const CONFIGS: usize = 600;
    for i in 0..CONFIGS {
        let config = random_config(&mut rng);
        match channels_from_xl_config(FILE_NAME, &config) {
            Ok(got) => {
                with_channels += usize::from(!got.channels.is_empty());
                with_warnings += usize::from(!got.warnings.is_empty());
            }
            Err(fatal) => {
                with_warnings += usize::from(!fatal.warnings.is_empty());
                match fatal.error {
                    XlError::Channel(_) => channel_errors += 1,
                    XlError::Parse(_) => parse_errors += 1,
                }
            }
        }
        let result = if crashes_xl_with_an_empty_spec(&config) {
            crashes += 1;
            let xl = bed.run_xl(&config);
            if xl.status.signal() == Some(SIGSEGV) {
                Ok(())
            } else {
                Err(format!("xl was expected to die from SIGSEGV: {xl:?}"))
            }
        } else {
            compare(&bed, &config, &Xl::Agrees)
        };
        if let Err(e) = result {
            failures.push(format!(
                "config {i}: {:?}\n{e}",
                String::from_utf8_lossy(&config[GUEST.len()..])
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {CONFIGS} random configs differ ({crashes} crash xl):\n\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    let coverage = [
        with_channels,
        with_warnings,
        channel_errors,
        parse_errors,
        crashes,
    ];
    eprintln!(
        "{CONFIGS} random configs: {with_channels} with channels, {with_warnings} with \
         warnings, {channel_errors} channel errors, {parse_errors} parse errors, {crashes} xl crashes"
    );
    assert!(
        coverage.iter().all(|&n| n >= 5),
        "too few configs of some kind (with channels, with warnings, channel errors, \
         parse errors, xl crashes): {coverage:?}"
    );
}
