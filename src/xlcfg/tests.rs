//! Parser and channel tests. Every expected message below was checked against Debian's real
//! libxlutil 4.17 and xl 4.17.

use super::*;
use crate::channel::{Connection, DeviceChannel};
use std::ffi::CString;

fn parse(text: &str) -> Result<Config, ParseError> {
    Config::parse("guest.cfg", text.as_bytes())
}

fn report(text: &[u8]) -> Vec<String> {
    match Config::parse("guest.cfg", text) {
        Ok(config) => panic!("parsed: {:?}", config.settings()),
        Err(e) => e.report.iter().map(|d| d.to_string()).collect(),
    }
}

fn string(text: &str, line: u32) -> Value {
    Value::String {
        bytes: text.as_bytes().to_vec(),
        line,
    }
}

#[test]
fn statements_numbers_strings_and_separators() {
    let config = parse("a = 1\nb = \"x y\"; c='z'\nd = 0x1f # hex\n\n").unwrap();
    let names: Vec<_> = config.settings().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    assert_eq!(config.get("a").unwrap().value, string("1", 1));
    assert_eq!(config.get("c").unwrap().value, string("z", 2));
    assert_eq!(config.get("d").unwrap().value, string("0x1f", 3));
    // The last statement needs no terminator; dotted names are identifiers.
    let config = parse("vif.default.bridge = \"br0\"").unwrap();
    assert_eq!(
        config.get_string("vif.default.bridge").unwrap(),
        Some(&b"br0"[..])
    );
}

#[test]
fn lists_span_lines_and_allow_one_trailing_comma() {
    let config = parse("a = [ 1,\n  2, # two\n]\nb = [\n]\nc = [ [\"x\"], [] ]\n").unwrap();
    let a = &config.get("a").unwrap();
    assert_eq!(a.line, 1);
    assert_eq!(
        a.value,
        Value::List {
            items: vec![string("1", 1), string("2", 2)],
            line: 1
        }
    );
    // An empty list is located at the token after `[`.
    assert_eq!(
        config.get("b").unwrap().value,
        Value::List {
            items: vec![],
            line: 5
        }
    );
    assert_eq!(config.get_list("c").unwrap().unwrap().len(), 2);
    assert_eq!(
        report(b"a = [ 1, , ]\n"),
        ["guest.cfg:1: config parsing error near `,': syntax error, unexpected ',', expecting ']'"]
    );
}

#[test]
fn repeated_keys_keep_every_setting_and_the_last_wins() {
    let config = parse("a = 1\na = 2\n").unwrap();
    assert_eq!(config.settings().len(), 2);
    assert_eq!(config.get("a").unwrap().value, string("2", 2));
}

#[test]
fn append_joins_with_the_previous_setting() {
    let config = parse("a = \"x\"\na += \"y\"\nl = [1]\nl += [2]\nn += \"new\"\n").unwrap();
    assert_eq!(config.get("a").unwrap().value, string("xy", 2));
    assert_eq!(config.get("a").unwrap().operation, Operation::Append);
    assert_eq!(
        config.get_list("l").unwrap().unwrap(),
        [string("1", 3), string("2", 4)]
    );
    // libxlutil moves the older list's items into the new setting.
    assert_eq!(config.settings()[2].value.as_list(), Some(&[][..]));
    assert_eq!(config.get("n").unwrap().value, string("new", 5));
    assert_eq!(
        report(b"a = [ \"x\" ]\na += \"y\"\n"),
        ["guest.cfg:2: config parsing error near `\"y\"': can't add [list] to \"string\" or vice versa"]
    );
}

#[test]
fn lookups_warn_about_the_wrong_kind() {
    let config = parse("channel = \"connection=pty\"\nmemory = [1]\n").unwrap();
    assert_eq!(
        config.get_list("channel").unwrap_err(),
        "guest.cfg:1: warning: parameter `channel' is a single value but should be a list"
    );
    assert_eq!(
        config.get_string("memory").unwrap_err(),
        "guest.cfg:2: warning: parameter `memory' is a list but should be a single value"
    );
    assert_eq!(config.get_list("vif").unwrap(), None);
}

#[test]
fn escapes_as_libxlutil_reads_them() {
    let config = parse("a = 'it\\'s'\nb = \"t\\tn\\n\\\\\"\nc = \"x\\123y\"\n").unwrap();
    assert_eq!(config.get_string("a").unwrap(), Some(&b"it's"[..]));
    assert_eq!(config.get_string("b").unwrap(), Some(&b"t\tn\n\\"[..]));
    // A numeric escape swallows its digits and yields nothing.
    assert_eq!(config.get_string("c").unwrap(), Some(&b"xy"[..]));
    // Only the first escape error is reported: libxlutil stops reading strings after one.
    assert_eq!(
        report(b"a = \"x\\x41\"\nb = \"\\q\"\n"),
        ["guest.cfg:1: config parsing error near `\"x\\x41\"': invalid digit after backslash hexnumerical character escape in quoted string"]
    );
}

#[test]
fn syntax_errors_name_file_and_line_as_libxlutil_does() {
    // At a newline the line is reported one early (a libxlutil quirk), down to line 0.
    assert_eq!(
        report(b"a = 1\nb = \n"),
        ["guest.cfg:1: config parsing error near <newline>: syntax error, unexpected NEWLINE, expecting STRING or NUMBER or '['"]
    );
    assert_eq!(
        report(b"a = \n"),
        ["guest.cfg:0: config parsing error near <newline>: syntax error, unexpected NEWLINE, expecting STRING or NUMBER or '['"]
    );
    assert_eq!(
        report(b"a = "),
        ["guest.cfg:1: config parsing error near `': syntax error, unexpected $end, expecting STRING or NUMBER or '['"]
    );
    assert_eq!(
        report(b"a = [1, 2 3]\nb = 1\n"),
        ["guest.cfg:1: config parsing error near `3': syntax error, unexpected NUMBER, expecting ']'"]
    );
}

#[test]
fn recovery_skips_to_the_next_line_but_not_after_a_complete_assignment() {
    assert_eq!(
        report(b"a = =\nb = 2\nc = ]\nd = 4\n"),
        [
            "guest.cfg:1: config parsing error near `=': syntax error, unexpected '=', expecting STRING or NUMBER or '['",
            "guest.cfg:3: config parsing error near `]': syntax error, unexpected ']', expecting STRING or NUMBER or '['",
        ]
    );
    // After `a = 1` bison has already reduced to "end of file", so it gives up there.
    assert_eq!(
        report(b"a = 1 2\nb = 3 4\n"),
        ["guest.cfg:1: config parsing error near `2': syntax error, unexpected NUMBER, expecting $end"]
    );
}

#[test]
fn lexical_errors() {
    assert_eq!(
        report(b"Name = \"x\"\n"),
        ["guest.cfg:1: config parsing error near `Name': lexical error"]
    );
    assert_eq!(
        report(b"x = \"a\" + \"b\"\n"),
        [
            "guest.cfg:1: config parsing error near `+': lexical error",
            "warning: Config file looks like it contains Python code.",
            "warning:  Arbitrary Python is no longer supported.",
            "warning:  See https://wiki.xen.org/wiki/PythonInXlConfig",
        ]
    );
    // A comment on the last line needs its newline.
    assert_eq!(
        report(b"a = 1\n# trailing comment"),
        ["guest.cfg:2: config parsing error near `#': lexical error"]
    );
    // A bad byte right before end of file is never noticed.
    assert_eq!(
        parse("a = 1 $").unwrap().get("a").unwrap().value,
        string("1", 1)
    );
    assert_eq!(
        report(b"a = 1\0\n"),
        ["guest.cfg:1: config parsing error near `': lexical error"]
    );
    // xl 4.17 aborts on an assertion here; we report it.
    assert_eq!(
        report(b"a = \"x\0y\"\n"),
        ["guest.cfg:1: config parsing error near `\"x': NUL byte in quoted string"]
    );
}

#[test]
fn nesting_is_limited_by_the_parser_stack() {
    let nested = |depth: usize| format!("a = {}{}\n", "[".repeat(depth), "]".repeat(depth));
    assert!(parse(&nested(4996)).is_ok());
    assert_eq!(
        report(nested(4997).as_bytes()),
        ["guest.cfg:1: config parsing error near `]': memory exhausted"]
    );
}

#[test]
fn parse_errors_map_to_fail() {
    let e = parse("a = =\n").unwrap_err();
    assert_eq!(e.failure, ParseFailure::Invalid);
    let e: crate::Error = e.into();
    assert_eq!(e.code(), crate::error::code::ERROR_FAIL);
    assert!(e.to_string().starts_with("guest.cfg:1: "));
}

// ---- channels ----

fn channels(specs: &str) -> Result<XlChannels, XlFatal> {
    let text = format!("name = \"g\"\nchannel = [ {specs} ]\n");
    channels_from_xl_config("guest.cfg", text.as_bytes())
}

fn channel(name: Option<&str>, connection: Connection, path: Option<&str>) -> DeviceChannel {
    DeviceChannel {
        name: name.map(|n| CString::new(n).unwrap()),
        connection: connection as i32,
        socket_path: path.map(|p| CString::new(p).unwrap()),
        ..DeviceChannel::default()
    }
}

fn fatal_stderr(specs: &str) -> (Vec<String>, String) {
    let fatal = channels(specs).unwrap_err();
    assert_eq!(fatal.exit_status(), 1);
    let warnings = fatal.warnings.iter().map(|w| w.to_string()).collect();
    (warnings, String::from_utf8(fatal.error.stderr()).unwrap())
}

#[test]
fn channel_specs() {
    let got = channels(
        r#""connection=pty, name=org.a", " name = org.b , connection = socket , path = /s ""#,
    )
    .unwrap();
    assert_eq!(
        got.channels,
        [
            channel(Some("org.a"), Connection::Pty, None),
            channel(Some("org.b"), Connection::Socket, Some("/s")),
        ]
    );
    assert!(got.warnings.is_empty());
    // devid stays -1: domain creation makes channel i console i + 1.
    assert!(got.channels.iter().all(|c| c.devid == -1));
}

#[test]
fn channel_field_rules() {
    let one = |spec: &str| channels(&format!("{spec:?}")).unwrap().channels.remove(0);
    // Later keys win; path is dropped for a pty; empty fields are skipped.
    assert_eq!(
        one("connection=socket,,path=/a,connection=pty,path=/b,"),
        channel(None, Connection::Pty, None)
    );
    // The value is the text between the first and the second `=`.
    assert_eq!(one("name=a=b,connection=pty").name, Some(c"a".into()));
    assert_eq!(one("name= ,connection=pty").name, Some(c"".into()));
    let with_backend = one("backend=dom1,connection=pty");
    assert_eq!(with_backend.backend_domname, Some(c"dom1".into()));
    assert_eq!(with_backend.backend_domid, 0);
}

#[test]
fn channel_warnings_and_fatal_errors() {
    let got = channels(r#""foo=bar,connection=pty", " = ,connection=pty""#).unwrap();
    assert_eq!(
        got.warnings,
        [
            "unknown channel parameter 'foo', ignoring",
            "unknown channel parameter '', ignoring"
        ]
    );
    assert_eq!(
        fatal_stderr(r#""x=1,name""#),
        (
            vec!["unknown channel parameter 'x', ignoring".to_owned()],
            // xl prints this one without a newline.
            "failed to parse channel configuration: name".to_owned()
        )
    );
    for (spec, stderr) in [
        (
            r#""=x,connection=pty""#,
            "failed to parse channel configuration: =x",
        ),
        (
            r#""name=,connection=pty""#,
            "failed to parse channel configuration: name=",
        ),
        (r#"",, ,""#, "failed to parse channel configuration:  "),
        // xl 4.17 crashes on these two.
        (r#""""#, "failed to parse channel configuration: "),
        (r#"",,""#, "failed to parse channel configuration: ,,"),
        (r#""connection=PTY""#, "unknown channel connection 'PTY'\n"),
        (r#""name=n""#, "channel has unknown 'connection'\n"),
        (
            r#""connection=socket""#,
            "channel connection 'socket' requires path=..\n",
        ),
    ] {
        assert_eq!(fatal_stderr(spec).1, stderr, "{spec}");
    }
    let fatal: crate::Error = channels(r#""name=n""#).unwrap_err().into();
    assert_eq!(fatal.code(), crate::error::code::ERROR_INVAL);
}

#[test]
fn one_spec_reads_like_a_list_item() {
    let got =
        channel_from_xl_spec(b" name = org.b , foo=1, connection = socket , path = /s ").unwrap();
    assert_eq!(
        got.channel,
        channel(Some("org.b"), Connection::Socket, Some("/s"))
    );
    assert_eq!(got.warnings, ["unknown channel parameter 'foo', ignoring"]);
    let fatal = channel_from_xl_spec(b"foo=1,name=n").unwrap_err();
    assert_eq!(
        fatal.warnings,
        ["unknown channel parameter 'foo', ignoring"]
    );
    assert_eq!(fatal.error.lines(), ["channel has unknown 'connection'"]);
    assert_eq!(
        fatal.stderr(),
        b"unknown channel parameter 'foo', ignoring\nchannel has unknown 'connection'\n"
    );
    let fatal = channel_from_xl_spec(b"").unwrap_err();
    assert_eq!(
        fatal.error.lines(),
        ["failed to parse channel configuration: "]
    );
}

/// Found by the former home-made fuzzer's SPEC target (now `fuzz/` target `channel_spec`,
/// which replays the input from `fuzz/regressions/channel_spec/`): a NUL byte in a SPEC gave an empty string
/// (`path=/a\0b` made a socket channel with the path ""), and fields after it were read.
/// xl reads a C string: the SPEC ends at its first NUL.
#[test]
fn a_spec_ends_at_its_first_nul_byte() {
    let got = channel_from_xl_spec(b"connection=socket,path=/a\0b").unwrap();
    assert_eq!(got.channel, channel(None, Connection::Socket, Some("/a")));
    let got = channel_from_xl_spec(b"connection=pty,name=n\0,x=1,connection=bad").unwrap();
    assert_eq!(got.channel, channel(Some("n"), Connection::Pty, None));
    assert!(got.warnings.is_empty());
    let fatal = channel_from_xl_spec(b"\0connection=pty").unwrap_err();
    assert_eq!(
        fatal.error.lines(),
        ["failed to parse channel configuration: "]
    );
    // The fuzzer's input: one field before the NUL, which names no connection.
    let fatal = channel_from_xl_spec(
        b"\"\"\n\rbke=m\t\x00nk.\x0b\x7fe\'ep\r\xff.9\x0b\ry,/\t\ry\nz\xff_t\n/z_\n\r\xa9\\\n \n\"z\'\x0b\x00\\\x7fy\n\\z\x80\"\"",
    )
    .unwrap_err();
    assert_eq!(
        fatal.warnings,
        ["unknown channel parameter '\"\"\n\rbke', ignoring"]
    );
    assert_eq!(fatal.error.lines(), ["channel has unknown 'connection'"]);
}

#[test]
fn error_lines_are_the_stderr_lines() {
    let fatal = channels_from_xl_config("guest.cfg", b"channel = [\n").unwrap_err();
    assert_eq!(
        fatal.error.lines(),
        [
            "guest.cfg:1: config parsing error near `': syntax error, unexpected $end, expecting ']'",
            "Failed to parse config: Invalid argument"
        ]
    );
}

#[test]
fn channel_setting_shapes() {
    let read = |text: &str| channels_from_xl_config("guest.cfg", text.as_bytes()).unwrap();
    let got = read("channel = \"connection=pty\"\n");
    assert!(got.channels.is_empty());
    assert_eq!(
        got.stderr(),
        b"guest.cfg:1: warning: parameter `channel' is a single value but should be a list\n"
    );
    // Reading stops at the first item that is a list.
    let got = read("channel = [ \"connection=pty\", [\"x\"], \"connection=pty\" ]\n");
    assert_eq!(got.channels.len(), 1);
    // Lists are joined by `+=`; the last `channel =` wins.
    let got = read("channel = [\"connection=pty\"]\nchannel += [\"connection=pty\"]\n");
    assert_eq!(got.channels.len(), 2);
    let got = read("channel = [\"connection=pty\"]\nchannel = []\n");
    assert!(got.channels.is_empty());
    let fatal = channels_from_xl_config("guest.cfg", b"channel = [\n").unwrap_err();
    assert_eq!(
        String::from_utf8(fatal.stderr()).unwrap(),
        "guest.cfg:1: config parsing error near `': syntax error, unexpected $end, expecting ']'\n\
         Failed to parse config: Invalid argument\n"
    );
}
