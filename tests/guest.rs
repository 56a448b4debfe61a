//! The guest side against the test bed's real xenstored: `xlchannel-guest add|remove` and
//! the library's open-by-name.
//!
//! The helper runs as the guest would, reading its console's name at the relative path
//! `device/console/<N>/name`; connected as dom0, xenstored resolves that under
//! `/local/domain/0`, so the tests write the names there. Every test uses its own console
//! numbers and its own temporary `--dev-dir`. Run inside the test bed (`make check`, or
//! `testbed/with-xenstored.sh cargo test --release --test guest`).

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use xlchannel::guest::{self, GuestError};
use xlchannel::xenstore::XenStore;

fn store() -> XenStore {
    XenStore::open().expect("no xenstored: run inside testbed/with-xenstored.sh")
}

fn set_name(xs: &XenStore, console: u32, name: &[u8]) {
    xs.transaction(|t| {
        t.write(
            &format!("/local/domain/0/device/console/{console}/name"),
            name,
        )
    })
    .expect("writing a console name");
}

/// A fresh dev dir, removed on drop.
struct DevDir(PathBuf);

impl DevDir {
    fn new(tag: &str) -> DevDir {
        let dir =
            std::env::temp_dir().join(format!("xlchannel-guest-{tag}.{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        DevDir(dir)
    }

    fn channels(&self) -> PathBuf {
        self.0.join("xen-channel")
    }

    /// The directory's entries: (name, link target or "<file>").
    fn entries(&self) -> Vec<(Vec<u8>, String)> {
        let mut got: Vec<_> = match fs::read_dir(self.channels()) {
            Ok(entries) => entries
                .map(|e| {
                    let e = e.unwrap();
                    let target = fs::read_link(e.path())
                        .map_or("<file>".to_owned(), |t| t.display().to_string());
                    (e.file_name().as_bytes().to_vec(), target)
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        got.sort();
        got
    }
}

impl Drop for DevDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn helper_env(args: &[&[u8]], env: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_xlchannel-guest"))
        .args(args.iter().map(|a| OsStr::from_bytes(a)))
        .envs(env.iter().copied())
        .output()
        .expect("running xlchannel-guest");
    Run {
        status: out.status.code().expect("not killed"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn helper(action: &str, console: u32, dev: &DevDir) -> Run {
    let devpath = format!("/devices/console-{console}");
    helper_env(
        &[
            action.as_bytes(),
            devpath.as_bytes(),
            b"--dev-dir",
            dev.0.as_os_str().as_bytes(),
        ],
        &[],
    )
}

fn expect(run: &Run, status: i32, stderr: &str) {
    assert_eq!(
        (run.status, run.stdout.as_str(), run.stderr.as_str()),
        (status, "", stderr),
        "(status, stdout, stderr)"
    );
}

fn link(name: &str, console: u32) -> (Vec<u8>, String) {
    (name.as_bytes().to_vec(), format!("../hvc{console}"))
}

#[test]
fn add_links_named_consoles_and_refuses_unsafe_names() {
    let xs = store();
    let dev = DevDir::new("add");
    set_name(&xs, 101, b"org.my.cloud.software.agent.version1");
    expect(&helper("add", 101, &dev), 0, "");
    assert_eq!(
        dev.entries(),
        [link("org.my.cloud.software.agent.version1", 101)]
    );
    // A repeated add event changes nothing.
    expect(&helper("add", 101, &dev), 0, "");
    assert_eq!(dev.entries().len(), 1);

    // Names that are one path component, however odd, are used as they are.
    let long = "n".repeat(255);
    set_name(&xs, 102, long.as_bytes());
    set_name(&xs, 103, b"caf\xe9 ...");
    expect(&helper("add", 102, &dev), 0, "");
    expect(&helper("add", 103, &dev), 0, "");
    assert!(dev.entries().contains(&link(&long, 102)));
    assert_eq!(
        fs::read_link(dev.channels().join(OsStr::from_bytes(b"caf\xe9 ..."))).unwrap(),
        Path::new("../hvc103")
    );

    // Unsafe names: one log line each, exit 3, nothing made.
    let before = dev.entries();
    let too_long = "x".repeat(256);
    let cases: &[(&[u8], &str)] = &[
        (b"", "\"\": it is empty"),
        (b".", "\".\": '.' is not a file name"),
        (b"..", "\"..\": '..' is not a file name"),
        (b"../../etc/passwd", "\"../../etc/passwd\": it contains '/'"),
        (b"/", "\"/\": it contains '/'"),
        (b"org/agent", "\"org/agent\": it contains '/'"),
        (b"org\0agent", "\"org\\x00agent\": it contains a NUL byte"),
        (
            b"org\x1b[2Jagent",
            "\"org\\x1b[2Jagent\": it contains the control byte 0x1b",
        ),
        (b"line\n", "\"line\\n\": it contains the control byte 0x0a"),
        (
            b"del\x7f",
            "\"del\\x7f\": it contains the control byte 0x7f",
        ),
    ];
    for (i, (name, why)) in cases.iter().enumerate() {
        let console = 110 + i as u32;
        set_name(&xs, console, name);
        expect(
            &helper("add", console, &dev),
            3,
            &format!(
                "xlchannel-guest: console {console}: refusing channel name {why}; no link made\n"
            ),
        );
    }
    set_name(&xs, 130, too_long.as_bytes());
    expect(
        &helper("add", 130, &dev),
        3,
        &format!(
            "xlchannel-guest: console 130: refusing channel name \"{too_long}\": it is 256 bytes \
             long; a file name has at most 255; no link made\n"
        ),
    );
    assert_eq!(dev.entries(), before);
    // Nothing escaped the dev dir either.
    assert!(!dev.0.join("etc").exists() && !dev.0.join("org").exists());

    // Console 0 is the primary console, even with a name; a console without a name is a
    // plain console. Neither gets a link, neither is an error.
    set_name(&xs, 0, b"org.primary");
    expect(&helper("add", 0, &dev), 0, "");
    expect(&helper("add", 131, &dev), 0, "");
    assert_eq!(dev.entries(), before);
    xs.transaction(|t| t.rm("/local/domain/0/device/console/0"))
        .unwrap();
}

#[test]
fn existing_files_of_a_channels_name() {
    let xs = store();
    let dev = DevDir::new("existing");
    fs::create_dir(dev.channels()).unwrap();
    // A link left by a console that is gone (its remove was missed) is replaced...
    symlink("../hvc140", dev.channels().join("org.stale")).unwrap();
    set_name(&xs, 141, b"org.stale");
    let got = helper("add", 141, &dev);
    expect(
        &got,
        0,
        &format!(
            "xlchannel-guest: console 141: {}/org.stale pointed at ../hvc140, which is gone; it \
             now points at ../hvc141\n",
            dev.channels().display()
        ),
    );
    // ...but not one to a console that exists, nor anything that is not such a link.
    fs::write(dev.0.join("hvc142"), b"").unwrap();
    symlink("../hvc142", dev.channels().join("org.taken")).unwrap();
    symlink("/etc/hostname", dev.channels().join("org.elsewhere")).unwrap();
    fs::write(dev.channels().join("org.file"), b"keep").unwrap();
    for (console, name, stderr) in [
        (
            143,
            "org.taken",
            format!(
                "{}/org.taken already links to ../hvc142, a console that exists",
                dev.channels().display()
            ),
        ),
        (
            144,
            "org.elsewhere",
            format!(
                "{}/org.elsewhere already links to /etc/hostname",
                dev.channels().display()
            ),
        ),
        (
            145,
            "org.file",
            format!(
                "{}/org.file exists and is not a link",
                dev.channels().display()
            ),
        ),
    ] {
        set_name(&xs, console, name.as_bytes());
        expect(
            &helper("add", console, &dev),
            1,
            &format!("xlchannel-guest: console {console}: {stderr}; leaving it alone\n"),
        );
    }
    assert_eq!(
        dev.entries(),
        [
            (b"org.elsewhere".to_vec(), "/etc/hostname".to_owned()),
            (b"org.file".to_vec(), "<file>".to_owned()),
            link("org.stale", 141),
            link("org.taken", 142),
        ]
    );
    assert_eq!(fs::read(dev.channels().join("org.file")).unwrap(), b"keep");

    // A dev dir that does not exist, or an xen-channel that is not a directory.
    let missing = DevDir(dev.0.join("missing"));
    expect(
        &helper("add", 141, &missing),
        1,
        &format!(
            "xlchannel-guest: creating {}: No such file or directory (os error 2)\n",
            missing.channels().display()
        ),
    );
    let odd = DevDir::new("existing-odd");
    fs::write(odd.channels(), b"").unwrap();
    expect(
        &helper("add", 141, &odd),
        1,
        &format!(
            "xlchannel-guest: {} exists and is not a directory\n",
            odd.channels().display()
        ),
    );
}

#[test]
fn remove_takes_only_the_consoles_own_links() {
    let xs = store();
    let dev = DevDir::new("remove");
    set_name(&xs, 151, b"org.a");
    expect(&helper("add", 151, &dev), 0, "");
    set_name(&xs, 152, b"org.b");
    expect(&helper("add", 152, &dev), 0, "");
    // Links and files that merely look alike stay.
    symlink("../hvc1510", dev.channels().join("org.other")).unwrap();
    symlink("/dev/hvc151", dev.channels().join("org.absolute")).unwrap();
    fs::write(dev.channels().join("hvc151"), b"").unwrap();
    // The console's xenstore directory may already be gone when udev reports the removal.
    xs.transaction(|t| t.rm("/local/domain/0/device/console/151"))
        .unwrap();
    expect(&helper("remove", 151, &dev), 0, "");
    assert_eq!(
        dev.entries(),
        [
            (b"hvc151".to_vec(), "<file>".to_owned()),
            (b"org.absolute".to_vec(), "/dev/hvc151".to_owned()),
            link("org.b", 152),
            (b"org.other".to_vec(), "../hvc1510".to_owned()),
        ]
    );
    // Removing again, console 0, or a dev dir without xen-channel: nothing to do.
    expect(&helper("remove", 151, &dev), 0, "");
    expect(&helper("remove", 0, &dev), 0, "");
    let empty = DevDir::new("remove-empty");
    expect(&helper("remove", 152, &empty), 0, "");
    assert_eq!(dev.entries().len(), 4);
    // Both the library's view and the helper's agree on what was removed.
    assert_eq!(
        guest::unlink_console(&dev.0, 152).unwrap(),
        [dev.channels().join("org.b")]
    );
}

#[test]
fn usage_errors_and_bad_devpaths() {
    let dev = DevDir::new("usage");
    let d = dev.0.as_os_str().as_bytes();
    let usage = |tail: &str| format!("xlchannel-guest: {tail}; see 'xlchannel-guest --help'\n");
    let cases: &[(&[&[u8]], &str)] = &[
        (&[], "no command (add or remove)"),
        (
            &[b"attach", b"/devices/console-1"],
            "unknown command 'attach' (add or remove)",
        ),
        (&[b"add"], "expects a DEVPATH (/devices/console-<N>)"),
        (
            &[b"add", b"/devices/console-1", b"/devices/console-2"],
            "expects one DEVPATH",
        ),
        (
            &[b"add", b"/devices/console-1", b"--dev-dir"],
            "--dev-dir needs a DIR",
        ),
        (
            &[b"add", b"/devices/console-1", b"--dev-dir="],
            "--dev-dir needs a DIR",
        ),
        (
            &[b"remove", b"/devices/console-1", b"-x"],
            "unknown option '-x'",
        ),
    ];
    for (args, tail) in cases {
        let got = helper_env(args, &[]);
        assert_eq!((got.status, got.stdout.as_str()), (2, ""), "{args:?}");
        assert_eq!(got.stderr, usage(tail), "{args:?}");
    }
    for (devpath, why) in [
        ("/devices/vif-1", "is not a Xen console device;"),
        ("console-1", "is not a Xen console device;"),
        ("/devices/console-", "does not end in a console number;"),
        (
            "/devices/console-1/tty",
            "does not end in a console number;",
        ),
        (
            "/devices/console-01",
            "has a console number with a leading zero;",
        ),
        (
            "/devices/console-4294967296",
            "has a console number out of range;",
        ),
    ] {
        for action in [&b"add"[..], b"remove"] {
            let got = helper_env(&[action, devpath.as_bytes(), b"--dev-dir", d], &[]);
            expect(
                &got,
                2,
                &format!(
                    "xlchannel-guest: DEVPATH \"{devpath}\" {why} expected /devices/console-<N>\n"
                ),
            );
        }
    }
    let help = helper_env(&[b"--help"], &[]);
    assert_eq!((help.status, help.stderr.as_str()), (0, ""));
    assert!(help
        .stdout
        .starts_with("Usage: xlchannel-guest add|remove DEVPATH [--dev-dir DIR] [--syslog]\n"));
    let version = helper_env(&[b"--version"], &[]);
    assert_eq!(
        (version.status, version.stdout, version.stderr),
        (
            0,
            format!("xlchannel-guest {}\n", env!("CARGO_PKG_VERSION")),
            String::new()
        )
    );
    // `--dev-dir=DIR` and options before DEVPATH are accepted too.
    let mut eq = b"--dev-dir=".to_vec();
    eq.extend_from_slice(d);
    expect(
        &helper_env(&[b"add", &eq, b"/devices/console-0"], &[]),
        0,
        "",
    );
}

#[test]
fn add_without_xenstore_fails_clearly() {
    let dev = DevDir::new("noxs");
    let args: [&[u8]; 4] = [
        b"add",
        b"/devices/console-5",
        b"--dev-dir",
        dev.0.as_os_str().as_bytes(),
    ];
    let got = helper_env(&args, &[("XENSTORED_PATH", "/nonexistent/socket")]);
    assert_eq!((got.status, got.stdout.as_str()), (1, ""));
    assert!(
        got.stderr
            .starts_with("xlchannel-guest: console 5: xenstore open: "),
        "{:?}",
        got.stderr
    );
    assert!(got
        .stderr
        .ends_with("(is xenstored running? XENSTORED_PATH names its socket)\n"));
    // Console 0 and remove need no xenstore at all.
    let zero: [&[u8]; 4] = [
        b"add",
        b"/devices/console-0",
        b"--dev-dir",
        dev.0.as_os_str().as_bytes(),
    ];
    expect(
        &helper_env(&zero, &[("XENSTORED_PATH", "/nonexistent/socket")]),
        0,
        "",
    );
    let remove: [&[u8]; 4] = [
        b"remove",
        b"/devices/console-5",
        b"--dev-dir",
        dev.0.as_os_str().as_bytes(),
    ];
    expect(
        &helper_env(&remove, &[("XENSTORED_PATH", "/nonexistent/socket")]),
        0,
        "",
    );
    assert!(!dev.channels().exists());
}

// ---- open by name -------------------------------------------------------------------

#[test]
fn open_waits_for_the_link_then_the_console() {
    use std::io::{Read, Seek, Write};
    let xs = store();
    let dev = DevDir::new("open");
    let dir = dev.0.clone();
    let waiter = std::thread::spawn(move || {
        guest::open_channel_in(&dir, b"org.open.agent", Duration::from_secs(30))
    });
    // The helper links the channel before its hvc device exists (udev may see the xenbus
    // device before the tty): the waiter must keep waiting through the dangling link.
    std::thread::sleep(Duration::from_millis(200));
    set_name(&xs, 161, b"org.open.agent");
    expect(&helper("add", 161, &dev), 0, "");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!waiter.is_finished(), "opened a dangling link");
    fs::write(dev.0.join("hvc161"), b"").unwrap();
    let mut file = waiter.join().unwrap().expect("opened");
    file.write_all(b"hello from the guest").unwrap();
    assert_eq!(
        fs::read(dev.0.join("hvc161")).unwrap(),
        b"hello from the guest"
    );
    file.rewind().unwrap();
    let mut back = String::new();
    file.read_to_string(&mut back).unwrap();
    assert_eq!(back, "hello from the guest");

    // Already there: opens at once, even with no time to wait.
    guest::open_channel_in(&dev.0, b"org.open.agent", Duration::ZERO).expect("opened at once");
}

#[test]
fn open_times_out_and_refuses_bad_names() {
    let dev = DevDir::new("open-timeout");
    let start = Instant::now();
    let e = guest::open_channel_in(&dev.0, b"org.never", Duration::from_millis(300)).unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        e,
        GuestError::TimedOut(format!(
            "channel \"org.never\" did not appear as {}/org.never within 300 ms",
            dev.channels().display()
        ))
    );
    assert_eq!(e.code(), -9);
    for (name, why) in [
        (&b""[..], "it is empty"),
        (b"..", "'..' is not a file name"),
        (b"a/b", "it contains '/'"),
        (b"a\x01", "it contains the control byte 0x01"),
    ] {
        let e = guest::open_channel_in(&dev.0, name, Duration::ZERO).unwrap_err();
        assert_eq!(
            e,
            GuestError::UnsafeName(format!(
                "refusing channel name \"{}\": {why}",
                name.escape_ascii()
            ))
        );
        assert_eq!(e.code(), -6);
    }
    let missing = dev.0.join("missing");
    let e = guest::open_channel_in(&missing, b"org.x", Duration::ZERO).unwrap_err();
    assert_eq!(
        e,
        GuestError::Io(format!(
            "watching {}: No such file or directory (os error 2)",
            missing.display()
        ))
    );
    assert_eq!(e.code(), -3);
    // A link whose target cannot be opened for another reason is an error at once.
    fs::create_dir(dev.channels()).unwrap();
    fs::create_dir(dev.0.join("hvc9")).unwrap();
    symlink("../hvc9", dev.channels().join("org.dir")).unwrap();
    let e = guest::open_channel_in(&dev.0, b"org.dir", Duration::from_secs(30)).unwrap_err();
    assert_eq!(
        e,
        GuestError::Io(format!(
            "opening {}/org.dir: Is a directory (os error 21)",
            dev.channels().display()
        ))
    );
}
