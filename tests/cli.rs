//! The `xlchannel` command: exact stdout, stderr and exit status of every subcommand, and
//! `list` and `config` against Debian's real xl 4.17 (`xl channel-list`, `xl -N create`)
//! over the same xenstore and the same files.
//!
//! Runs inside the test bed (`make check`, or `testbed/with-xenstored.sh cargo test --release
//! --test cli`): `XENSTORED_PATH` names the private xenstored, `XLCHANNEL_XL` the real xl,
//! and the preloaded shim answers xl's hypervisor calls. xl resolves a domain name through
//! the hypervisor's domain list, which the shim takes from `XLCHANNEL_SHIM_DOMAINS`; each
//! test passes the domids it registered. Tests run in parallel, so each uses its own domids.
//!
//! `add` of a channel served by dom0 needs the domain's device model (the strict hot-add
//! rule): the tests that add such channels start a real qemu for each of those domains
//! ([`DeviceModels`]), and their socket channels live in its directory, since qemu creates
//! the sockets.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::Command;

mod common;

use common::{register, store};
use xlchannel::xenstore::XenStore;

const XL_CONF_MISSING: &str =
    "Failed to read config file: /etc/xen/xl.conf: No such file or directory\n";

#[derive(Debug, PartialEq, Eq)]
struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn run(program: &OsStr, args: &[&[u8]], env: &[(&str, &str)], dir: Option<&PathBuf>) -> Run {
    let mut cmd = Command::new(program);
    cmd.args(args.iter().map(|a| OsStr::from_bytes(a)));
    cmd.envs(env.iter().copied());
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let out = cmd.output().expect("running a command");
    Run {
        status: out
            .status
            .code()
            .unwrap_or_else(|| panic!("killed: {:?}", out.status)),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ours(args: &[&str]) -> Run {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    run(
        OsStr::new(env!("CARGO_BIN_EXE_xlchannel")),
        &args,
        &[],
        None,
    )
}

fn ours_in(dir: &PathBuf, args: &[&str]) -> Run {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    run(
        OsStr::new(env!("CARGO_BIN_EXE_xlchannel")),
        &args,
        &[],
        Some(dir),
    )
}

/// The real xl, its stderr without the complaint about a missing /etc/xen/xl.conf.
fn real_xl(args: &[&str], domains: &str, dir: Option<&PathBuf>) -> Run {
    let Some(xl) = std::env::var_os("XLCHANNEL_XL") else {
        panic!(
            "XLCHANNEL_XL is not set: this test compares with the real xl 4.17 of the test \
             bed; run it as `testbed/with-xenstored.sh cargo test --release --test cli`"
        );
    };
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let mut got = run(&xl, &args, &[("XLCHANNEL_SHIM_DOMAINS", domains)], dir);
    if let Some(rest) = got.stderr.strip_prefix(XL_CONF_MISSING) {
        got.stderr = rest.to_owned();
    }
    got
}

/// Real qemus as the device models of a test's domains (Debian's, `-machine none`, QMP on
/// `<dir>/qmp-libxl-<domid>`, libxl's socket), with `dir` as the `XLCHANNEL_RUN_DIR` of the
/// `xlchannel` runs they serve. Dropping them kills each qemu and removes the directory.
struct DeviceModels {
    dir: PathBuf,
    qemus: Vec<std::process::Child>,
}

impl DeviceModels {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("xlchannel-cli-dm-{tag}.{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        DeviceModels {
            dir,
            qemus: Vec::new(),
        }
    }

    /// A qemu for `domid`, once its QMP socket exists (bounded wait).
    fn start(&mut self, domid: u32) {
        let qmp = self.dir.join(format!("qmp-libxl-{domid}"));
        let qemu = std::env::var("XLCHANNEL_QEMU").unwrap_or_else(|_| "qemu-system-x86_64".into());
        let mut child = Command::new(qemu)
            .args([
                "-machine",
                "none",
                "-nodefaults",
                "-display",
                "none",
                "-qmp",
            ])
            .arg(format!("unix:{},server=on,wait=off", qmp.display()))
            .env_remove("LD_PRELOAD")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("starting qemu-system-x86_64");
        // Generous: the machine may be busy; a qemu that exits fails at once.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !qmp.exists() {
            let exited = child.try_wait().expect("polling qemu");
            if exited.is_some() || std::time::Instant::now() > deadline {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "qemu for domain {domid} did not create {} ({status:?})",
                    qmp.display()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.qemus.push(child);
    }

    /// A path in the directory (for socket channels).
    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_owned()
    }

    fn qmp_socket(&self, domid: u32) -> String {
        self.path(&format!("qmp-libxl-{domid}"))
    }

    /// Our command, with these device models.
    fn ours(&self, args: &[&str]) -> Run {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        run(
            OsStr::new(env!("CARGO_BIN_EXE_xlchannel")),
            &args,
            &[("XLCHANNEL_RUN_DIR", self.dir.to_str().unwrap())],
            None,
        )
    }
}

impl DeviceModels {
    /// Kill every qemu; their QMP socket files stay, with nothing listening.
    fn stop(&mut self) {
        for mut qemu in self.qemus.drain(..) {
            let _ = qemu.kill();
            let _ = qemu.wait();
        }
    }
}

impl Drop for DeviceModels {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The pty path a hot add recorded for console `devid` (qemu's).
fn tty(xs: &XenStore, domid: u32, devid: i32) -> String {
    let tty = read(
        xs,
        &format!("/local/domain/{domid}/device/console/{devid}/tty"),
    )
    .expect("a hot-added pty has its tty");
    let tty = String::from_utf8(tty).unwrap();
    assert!(tty.starts_with("/dev/pts/"), "{tty}");
    tty
}

fn write(xs: &XenStore, path: &str, value: &[u8]) {
    xs.transaction(|t| t.write(path, value)).expect("writing");
}

fn read(xs: &XenStore, path: &str) -> Option<Vec<u8>> {
    xs.transaction(|t| t.read(path)).expect("reading")
}

fn expect(run: &Run, status: i32, stdout: &str, stderr: &str) {
    assert_eq!(
        (run.status, run.stdout.as_str(), run.stderr.as_str()),
        (status, stdout, stderr),
        "(status, stdout, stderr)"
    );
}

const HEADER: &str = "Idx BE state evt-ch ring-ref connection                               \n";

// ---- list ---------------------------------------------------------------------------

#[test]
fn list_matches_real_xl_channel_list() {
    let xs = store();
    register(&xs, 41, "cli-web");
    register(&xs, 42, "cli-db");
    register(&xs, 43, "cli-empty");
    register(&xs, 44, "cli-odd");
    register(&xs, 45, "cli-broken");
    let mut dm = DeviceModels::new("list");
    for domid in [41, 42, 44, 45] {
        dm.start(domid);
    }
    let add = |domain: &str, specs: &[&str], devids: &str| {
        let mut args = vec!["add", domain];
        args.extend_from_slice(specs);
        expect(&dm.ours(&args), 0, devids, "");
    };
    let web_agent = format!(
        "connection=socket,name=org.web.agent,path={}",
        dm.path("web agent.sock")
    );
    add(
        "cli-web",
        &[
            &web_agent,
            "connection=pty,name=org.web.console",
            "connection=pty,name=org.web.log",
        ],
        "1\n2\n3\n",
    );
    add("42", &["connection=pty,name=org.db"], "1\n");
    let c = format!("connection=socket,name=c,path={}", dm.path("c"));
    add(
        "cli-odd",
        &["connection=pty,name=a", "connection=pty,name=b", &c],
        "1\n2\n3\n",
    );
    add("cli-broken", &["connection=pty,name=x"], "1\n");
    // The ptys qemu opened for consoles the test leaves alone.
    let (web_log_tty, odd_b_tty) = (tty(&xs, 41, 3), tty(&xs, 44, 2));
    // What a running guest and its backend leave in the frontend: state, event channel,
    // ring reference, and a pty path (one with non-ASCII bytes, padded by bytes as printf
    // pads it).
    for (key, value) in [
        ("state", "4"),
        ("port", "17"),
        ("ring-ref", "8"),
        ("tty", "/dev/pts/7"),
    ] {
        write(
            &xs,
            &format!("/local/domain/41/device/console/2/{key}"),
            value.as_bytes(),
        );
    }
    write(&xs, "/local/domain/41/device/console/3/port", b"-5");
    write(
        &xs,
        "/local/domain/42/device/console/1/tty",
        "/dev/pts/é".as_bytes(),
    );
    // Domain 44: no backend recorded for console 1 (getinfo fails, the row is left out);
    // console 2's backend in a domid above INT_MAX (printed as a negative int).
    xs.transaction(|t| t.rm("/libxl/44/device/console/1/backend"))
        .unwrap();
    write(
        &xs,
        "/libxl/44/device/console/2/backend",
        b"/local/domain/4294967295/backend/console/44/2",
    );
    let domains = "0 41 42 43 44 45";

    let cases: &[&[&str]] = &[
        &["41"],
        &["cli-web"],
        &["41", "42", "43", "44"],
        &["cli-db", "99", "cli-empty"],
        &["cli-odd"],
        &["bogus"],
        &["41", "bogus", "42"],
        &["", "41"],
        &["--", "-7"],
        // xl's strtoul: out-of-range domids wrap (list only reads).
        &["4294967296"],
        &["4294967301", "41"],
        &["41", "--help"],
        &["-x", "41"],
        &["-q"],
    ];
    for case in cases {
        let mut args = vec!["channel-list"];
        args.extend_from_slice(case);
        let xl = real_xl(&args, domains, None);
        args[0] = "list";
        let got = ours(&args);
        assert_eq!(
            got, xl,
            "xlchannel list {case:?} differs from xl channel-list"
        );
    }

    // The bytes themselves, for the record.
    let web = ours(&["list", "cli-web"]);
    let pad = |s: &str| format!("{s:<30} ");
    expect(
        &web,
        0,
        &format!(
            "{HEADER}0   0  1     -1     -1       socket     \n\
             1   0  4     17     8        pty        {}\n\
             2   0  1     -5     -1       pty        {}\n",
            pad("/dev/pts/7"),
            pad(&web_log_tty)
        ),
        "",
    );
    let odd = ours(&["list", "44"]);
    expect(
        &odd,
        0,
        &format!(
            "{HEADER}1   -1 1     -1     -1       pty        {}\n\
             2   0  1     -1     -1       socket     \n",
            pad(&odd_b_tty)
        ),
        "",
    );
    expect(
        &ours(&["list", "41", "bogus", "42"]),
        1,
        &web.stdout,
        "bogus is an invalid domain identifier (rc=-6)\n",
    );

    // A console whose recorded connection is neither pty nor socket fails the whole list of
    // its domain; both go on with the next domain and exit 0. (xl's stderr is libxl's log
    // line, not compared.)
    write(&xs, "/libxl/45/device/console/1/connection", b"tcp");
    let xl = real_xl(&["channel-list", "45", "42"], domains, None);
    let got = ours(&["list", "45", "42"]);
    assert_eq!((got.status, &got.stdout), (xl.status, &xl.stdout));
    assert_eq!(
        got.stderr,
        "xlchannel list: domain 45: /libxl/45/device/console/1/connection is 'tcp': not pty or socket\n"
    );

    // Usage errors: xl's, with our command's name where xl names itself; the usage text that
    // follows on stdout is each command's own.
    let xl = real_xl(&["channel-list"], domains, None);
    let got = ours(&["list"]);
    assert_eq!(got.status, xl.status);
    assert_eq!(got.status, 2);
    assert_eq!(
        got.stderr,
        xl.stderr.replace("'xl channel-list'", "'xlchannel list'")
    );
    assert_eq!(
        got.stderr,
        "'xlchannel list' requires at least 1 argument.\n\n"
    );
    assert!(xl
        .stdout
        .starts_with("Usage: xl [-vtT] channel-list <Domain(s)>\n"));
    assert!(got.stdout.starts_with("Usage: xlchannel list DOMAIN...\n"));
    for help in ["-h", "--help"] {
        let xl = real_xl(&["channel-list", help], domains, None);
        let got = ours(&["list", help]);
        assert_eq!(
            (got.status, got.stderr.as_str()),
            (xl.status, xl.stderr.as_str())
        );
        assert_eq!(got.stdout, ours(&["list", "--help"]).stdout);
    }
}

// ---- add ----------------------------------------------------------------------------

#[test]
fn add_prints_console_devids_and_xl_messages() {
    let xs = store();
    register(&xs, 51, "cli-add");
    register(&xs, 52, "cli-driver");
    let mut dm = DeviceModels::new("add");
    dm.start(51);
    let a_sock = dm.path("a.sock");
    let ours = |args: &[&str]| dm.ours(args);

    expect(
        &ours(&[
            "add",
            "cli-add",
            &format!("connection=socket,name=org.a,path={a_sock},foo=1"),
            " name = org.b , connection = pty , path = /ignored ",
        ]),
        0,
        "1\n2\n",
        "unknown channel parameter 'foo', ignoring\n",
    );
    expect(
        &ours(&["add", "51", "backend=cli-driver,connection=pty,name=org.c"]),
        0,
        "3\n",
        "",
    );
    assert_eq!(
        read(&xs, "/local/domain/51/device/console/3/backend").as_deref(),
        Some(&b"/local/domain/52/backend/console/51/3"[..])
    );
    assert_eq!(
        read(&xs, "/libxl/51/device/console/1/path").as_deref(),
        Some(a_sock.as_bytes())
    );

    // SPECs xl refuses: xl's messages (each on its own line), nothing added.
    for (spec, stderr) in [
        ("name=n", "channel has unknown 'connection'\n"),
        ("connection=pty,name", "failed to parse channel configuration: name\n"),
        ("", "failed to parse channel configuration: \n"),
        ("connection=PTY", "unknown channel connection 'PTY'\n"),
        (
            "x=1,connection=socket",
            "unknown channel parameter 'x', ignoring\nchannel connection 'socket' requires path=..\n",
        ),
    ] {
        expect(&ours(&["add", "51", "connection=pty,name=ok", spec]), 1, "", stderr);
    }
    // All or none: the second channel fails libxl's checks, so the first is not added.
    expect(
        &ours(&["add", "51", "connection=pty,name=ok", "connection=pty"]),
        1,
        "",
        "xlchannel add: channel 5 has no name\n",
    );
    assert_eq!(read(&xs, "/libxl/51/device/console/4/name"), None);

    expect(
        &ours(&["add", "nope", "connection=pty,name=x"]),
        1,
        "",
        "nope is an invalid domain identifier (rc=-6)\n",
    );
    expect(
        &ours(&["add", "59", "connection=pty,name=x"]),
        1,
        "",
        "xlchannel add: domain 59 does not exist\n",
    );
    expect(
        &ours(&["add", "51", "backend=nope,connection=pty,name=x"]),
        1,
        "",
        "xlchannel add: unknown domain 'nope'\n",
    );
    expect(
        &ours(&["add", "51"]),
        2,
        "",
        "xlchannel add: expects DOMAIN and one or more SPECs; see 'xlchannel add --help'\n",
    );
    // The channels that were added, as xl lists them.
    let xl = real_xl(&["channel-list", "cli-add"], "51 52", None);
    expect(&xl, 0, &ours(&["list", "cli-add"]).stdout, "");
    assert_eq!(xl.stdout.lines().count(), 4);
}

/// The strict rule: a domain without a device model gets no channel served by dom0 (exit
/// status 1, one line naming the domain and the QMP socket, nothing written), after
/// libxl's checks; channels served by a driver domain are added; removal still works.
#[test]
fn add_needs_a_device_model_for_channels_served_here() {
    let xs = store();
    register(&xs, 55, "cli-no-dm");
    register(&xs, 67, "cli-no-dm-driver");
    let dm = DeviceModels::new("no-dm");
    let no_dm = |channel: &str| {
        format!(
            "xlchannel add: domain 55 has no running device model (no QMP socket at {}): \
             channel '{channel}' would have no backend\n",
            dm.qmp_socket(55)
        )
    };
    let untouched = || {
        for path in [
            "/libxl/55",
            "/local/domain/55/device/console",
            "/local/domain/0/backend/console/55",
        ] {
            assert_eq!(read(&xs, path), None, "{path}");
        }
        assert_eq!(
            read(&xs, "/local/domain/55/device").as_deref(),
            Some(&b""[..])
        );
    };
    let sock = dm.path("p.sock");
    expect(
        &dm.ours(&[
            "add",
            "55",
            &format!("connection=socket,name=org.s,path={sock}"),
        ]),
        1,
        "",
        &no_dm("org.s"),
    );
    // A driver domain's channel with one served here: all or none, the local one named.
    expect(
        &dm.ours(&[
            "add",
            "55",
            "backend=cli-no-dm-driver,connection=pty,name=org.d",
            "connection=pty,name=org.p",
        ]),
        1,
        "",
        &no_dm("org.p"),
    );
    untouched();
    assert!(!std::path::Path::new(&sock).exists());
    // The default run dir when XLCHANNEL_RUN_DIR is not set.
    expect(
        &ours(&["add", "55", "connection=pty,name=org.p"]),
        1,
        "",
        "xlchannel add: domain 55 has no running device model (no QMP socket at \
         /var/run/xen/qmp-libxl-55): channel 'org.p' would have no backend\n",
    );
    // From an xl config: xl's warnings, then the same line.
    let cfg = dm.path("guest.cfg");
    std::fs::write(
        &cfg,
        format!("{GUEST}channel = [ \"connection=pty,name=org.cfg,speed=9\" ]\n"),
    )
    .unwrap();
    expect(
        &dm.ours(&["add", "55", "--config", &cfg]),
        1,
        "",
        &format!(
            "unknown channel parameter 'speed', ignoring\n{}",
            no_dm("org.cfg")
        ),
    );
    untouched();
    // Served by the driver domain only: added, no device model needed here.
    expect(
        &dm.ours(&[
            "add",
            "55",
            "backend=cli-no-dm-driver,connection=pty,name=org.d",
        ]),
        0,
        "1\n",
        "",
    );
    assert_eq!(
        read(&xs, "/local/domain/55/device/console/1/backend").as_deref(),
        Some(&b"/local/domain/67/backend/console/55/1"[..])
    );
    // libxl's checks come first: their messages, not the device model's.
    for (spec, stderr) in [
        (
            "connection=pty,name=org.d",
            "xlchannel add: domain 55 already has a channel named 'org.d' (console 1)\n",
        ),
        (
            "connection=socket,name=org.r,path=r.sock",
            "xlchannel add: channel 2 has a relative path 'r.sock'; a socket path must be absolute\n",
        ),
        (
            "backend=nope,connection=pty,name=org.n",
            "xlchannel add: unknown domain 'nope'\n",
        ),
        ("connection=pty", "xlchannel add: channel 2 has no name\n"),
    ] {
        expect(&dm.ours(&["add", "55", spec]), 1, "", stderr);
    }
    assert_eq!(read(&xs, "/libxl/55/device/console/2"), None);
    // Removal needs no device model.
    expect(&dm.ours(&["remove", "55", "org.d"]), 0, "", "");
    assert_eq!(read(&xs, "/libxl/55/device/console"), Some(Vec::new()));
    assert_eq!(read(&xs, "/local/domain/67/backend/console/55/1"), None);
}

#[test]
fn add_takes_only_existing_domains_in_range() {
    let xs = store();
    register(&xs, 5, "cli-five");
    register(&xs, 32751, "cli-last");
    let mut dm = DeviceModels::new("range");
    dm.start(5);
    dm.start(32751);
    let ours = |args: &[&str]| dm.ours(args);
    // xl's strtoul would make these dom0 (an empty string, 2^32) and domain 5 (2^32 + 5).
    for (domain, stderr) in [
        ("", "xlchannel add: DOMAIN is empty; give a domid or a domain name\n"),
        (
            "4294967296",
            "xlchannel add: domid 4294967296 is out of range: domains have ids 0 to 32751\n",
        ),
        (
            "4294967301",
            "xlchannel add: domid 4294967301 is out of range: domains have ids 0 to 32751\n",
        ),
        (
            "99999999999999999999999",
            "xlchannel add: domid 99999999999999999999999 is out of range: domains have ids 0 to 32751\n",
        ),
        (
            "32752",
            "xlchannel add: domid 32752 is out of range: domains have ids 0 to 32751\n",
        ),
        ("65535", "xlchannel add: domid 65535 is out of range: domains have ids 0 to 32751\n"),
        ("32750", "xlchannel add: domain 32750 does not exist\n"),
        ("+5", "+5 is an invalid domain identifier (rc=-6)\n"),
        (" 5", " 5 is an invalid domain identifier (rc=-6)\n"),
    ] {
        expect(&ours(&["add", domain, "connection=pty,name=x"]), 1, "", stderr);
    }
    expect(
        &ours(&["add", "--", "-5", "connection=pty,name=x"]),
        1,
        "",
        "-5 is an invalid domain identifier (rc=-6)\n",
    );
    for domain in ["", "4294967296", "4294967301"] {
        expect(
            &ours(&["add", "--config", "/nonexistent.cfg", domain]),
            3,
            "",
            "Failed to read config file: /nonexistent.cfg: No such file or directory\n",
        );
    }
    assert_eq!(read(&xs, "/libxl/0"), None);
    assert_eq!(read(&xs, "/libxl/5"), None);
    assert_eq!(read(&xs, "/local/domain/0/device/console/1"), None);
    // The last domid in range, a leading zero, and a name all work.
    expect(
        &ours(&["add", "32751", "connection=pty,name=x"]),
        0,
        "1\n",
        "",
    );
    expect(
        &ours(&["add", "005", "connection=pty,name=x"]),
        0,
        "1\n",
        "",
    );
    expect(
        &ours(&["add", "cli-five", "connection=pty,name=y"]),
        0,
        "2\n",
        "",
    );
    assert_eq!(
        read(&xs, "/libxl/5/device/console/2/name").as_deref(),
        Some(&b"y"[..])
    );
}

#[test]
fn add_refuses_relative_socket_paths() {
    let xs = store();
    register(&xs, 53, "cli-paths");
    let mut dm = DeviceModels::new("paths");
    dm.start(53);
    let ours = |args: &[&str]| dm.ours(args);
    for (spec, stderr) in [
        (
            "connection=socket,name=r,path=run/agent.sock",
            "xlchannel add: channel 1 has a relative path 'run/agent.sock'; a socket path must be absolute\n",
        ),
        (
            "connection=socket,name=r,path=./agent.sock",
            "xlchannel add: channel 1 has a relative path './agent.sock'; a socket path must be absolute\n",
        ),
    ] {
        expect(&ours(&["add", "53", spec]), 1, "", stderr);
    }
    assert_eq!(read(&xs, "/libxl/53"), None);
    // (An empty path, which xl's SPEC reader refuses itself, is refused by the library's
    // add: c-tests/test_socket_path.c.) A pty's path is ignored, as xl ignores it.
    expect(
        &ours(&["add", "53", "connection=pty,name=p,path=relative"]),
        0,
        "1\n",
        "",
    );
}

#[test]
fn add_from_an_xl_config() {
    let xs = store();
    register(&xs, 54, "cli-config");
    let mut dm = DeviceModels::new("config");
    dm.start(54);
    let ours = |args: &[&str]| dm.ours(args);
    let dir = std::env::temp_dir().join(format!("xlchannel-cli-add.{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, format!("{GUEST}{text}")).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let good = file(
        "good.cfg",
        &format!(
            "channel = [ \"connection=socket,name=org.cfg.agent,path={},speed=9\",\n\
                         \"connection=pty,name=org.cfg.console\" ]\n",
            dm.path("org.cfg.sock")
        ),
    );
    let warning = "unknown channel parameter 'speed', ignoring\n";
    // The same warnings as `config` (which matches `xl -N create`), then the devids.
    assert_eq!(ours(&["config", &good]).stderr, warning);
    expect(
        &ours(&["add", "cli-config", "--config", &good]),
        0,
        "1\n2\n",
        warning,
    );
    // The same channels again: their names are taken, and nothing is added.
    expect(
        &ours(&["add", "54", "--config", &good]),
        1,
        "",
        &format!(
            "{warning}xlchannel add: domain 54 already has a channel named 'org.cfg.agent' (console 1)\n"
        ),
    );
    let renamed = |name: &str, prefix: &str| {
        file(
            name,
            &format!(
                "channel = [ \"connection=socket,name={prefix}.agent,path={},speed=9\",\n\
                             \"connection=pty,name={prefix}.console\" ]\n",
                dm.path(&format!("{prefix}.sock"))
            ),
        )
    };
    let equals = format!("--config={}", renamed("second.cfg", "org.cfg2"));
    expect(&ours(&["add", "54", &equals]), 0, "3\n4\n", warning);
    expect(
        &ours(&["add", "--config", &renamed("third.cfg", "org.cfg3"), "54"]),
        0,
        "5\n6\n",
        warning,
    );
    assert_eq!(
        read(&xs, "/libxl/54/device/console/1/path").as_deref(),
        Some(dm.path("org.cfg.sock").as_bytes())
    );
    assert_eq!(
        read(&xs, "/libxl/54/device/console/6/name").as_deref(),
        Some(&b"org.cfg3.console"[..])
    );

    // Configs xl refuses: xl's messages and status, nothing added.
    for (name, text) in [
        ("nopath.cfg", "channel = [ \"connection=socket,name=n\" ]\n"),
        ("syntax.cfg", "channel = [ \"connection=pty\",\n"),
        ("noconn.cfg", "channel = [ \"x=1,name=n\" ]\n"),
        (
            "relative.cfg",
            "channel = [ \"connection=pty,name=ok\", \"connection=socket,name=r,path=r.sock\" ]\n",
        ),
    ] {
        let path = file(name, text);
        let config = ours(&["config", &path]);
        let got = ours(&["add", "54", "--config", &path]);
        if config.status == 0 {
            // xl accepts it; the library refuses it (all or nothing).
            expect(
                &got,
                1,
                "",
                "xlchannel add: channel 8 has a relative path 'r.sock'; a socket path must be absolute\n",
            );
        } else {
            expect(&got, config.status, "", &config.stderr);
            assert_ne!(config.stderr, "", "{name}");
        }
    }
    assert_eq!(read(&xs, "/libxl/54/device/console/7"), None);

    let empty = file("empty.cfg", "");
    expect(
        &ours(&["add", "54", "--config", &empty]),
        0,
        "",
        &format!("xlchannel add: {empty} has no channels; nothing added\n"),
    );
    expect(
        &ours(&["add", "59", "--config", &empty]),
        1,
        "",
        "xlchannel add: domain 59 does not exist\n",
    );
    let missing = dir.join("missing.cfg");
    let missing = missing.to_str().unwrap();
    expect(
        &ours(&["add", "54", "--config", missing]),
        3,
        "",
        &format!("Failed to read config file: {missing}: No such file or directory\n"),
    );
    for (args, stderr) in [
        (
            vec!["add", "54", "--config"],
            "xlchannel add: --config needs a FILE; see 'xlchannel add --help'\n",
        ),
        (
            vec!["add", "54", "--config", &good, "--config", &good],
            "xlchannel add: --config given twice; see 'xlchannel add --help'\n",
        ),
        (
            vec!["add", "54", "--config", &good, "connection=pty,name=x"],
            "xlchannel add: expects DOMAIN and --config FILE, no SPECs; see 'xlchannel add --help'\n",
        ),
        (
            vec!["add", "--config", &good],
            "xlchannel add: expects DOMAIN and --config FILE, no SPECs; see 'xlchannel add --help'\n",
        ),
    ] {
        expect(&ours(&args), 2, "", stderr);
    }
    let xl = real_xl(&["channel-list", "54"], "54", None);
    expect(&xl, 0, &ours(&["list", "54"]).stdout, "");
    assert_eq!(xl.stdout.lines().count(), 7);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- list --json --------------------------------------------------------------------

#[test]
fn list_json_shows_names_paths_backends_and_states() {
    let xs = store();
    register(&xs, 71, "cli-json");
    register(&xs, 72, "cli-json-drv");
    register(&xs, 73, "cli-json-none");
    register(&xs, 74, "cli-json-bad");
    let mut dm = DeviceModels::new("json");
    dm.start(71);
    dm.start(74);
    let agent_path = dm.path("a \"b\".sock");
    expect(
        &dm.ours(&[
            "add",
            "cli-json",
            &format!("connection=socket,name=org.json.agent,path={agent_path}"),
            "connection=pty,name=org.json.console",
            "backend=cli-json-drv,connection=pty,name=org.json.drv",
        ]),
        0,
        "1\n2\n3\n",
        "",
    );
    expect(
        &dm.ours(&["add", "74", "connection=pty,name=b"]),
        0,
        "1\n",
        "",
    );
    // What a running guest and its backends leave in the frontend.
    write(&xs, "/local/domain/71/device/console/1/state", b"4");
    write(&xs, "/local/domain/71/device/console/2/tty", b"/dev/pts/3");
    let channels = &"[\n    {\n        \"domid\": 71,\n        \"devid\": 1,\n        \"name\": \"org.json.agent\",\n        \"connection\": \"socket\",\n        \"path\": \"AGENT\",\n        \"backend_domid\": 0,\n        \"state\": 4\n    },\n    {\n        \"domid\": 71,\n        \"devid\": 2,\n        \"name\": \"org.json.console\",\n        \"connection\": \"pty\",\n        \"path\": \"/dev/pts/3\",\n        \"backend_domid\": 0,\n        \"state\": 1\n    },\n    {\n        \"domid\": 71,\n        \"devid\": 3,\n        \"name\": \"org.json.drv\",\n        \"connection\": \"pty\",\n        \"path\": null,\n        \"backend_domid\": 72,\n        \"state\": 1\n    }\n]\n"
        .replace("AGENT", &agent_path.replace('"', "\\\""));
    expect(&ours(&["list", "--json", "cli-json"]), 0, channels, "");
    expect(&ours(&["list", "--json", "71", "73"]), 0, channels, "");
    expect(&ours(&["list", "--json", "73"]), 0, "[\n\n]\n", "");
    // Every DOMAIN is resolved before anything is printed.
    expect(
        &ours(&["list", "--json", "71", "nope"]),
        1,
        "",
        "nope is an invalid domain identifier (rc=-6)\n",
    );
    // A console whose backend is not recorded: its channel with nulls, a line, status 1.
    xs.transaction(|t| t.rm("/libxl/74/device/console/1/backend"))
        .unwrap();
    expect(
        &ours(&["list", "--json", "74"]),
        1,
        "[\n    {\n        \"domid\": 74,\n        \"devid\": 1,\n        \"name\": \"b\",\n        \"connection\": \"pty\",\n        \"path\": null,\n        \"backend_domid\": null,\n        \"state\": null\n    }\n]\n",
        "xlchannel list: domain 74: console 1: /libxl/74/device/console/1/backend does not exist\n",
    );
    // A domain whose channels cannot be listed is left out, with a line and status 1.
    write(&xs, "/libxl/74/device/console/1/connection", b"tcp");
    expect(
        &ours(&["list", "--json", "74", "71"]),
        1,
        channels,
        "xlchannel list: domain 74: /libxl/74/device/console/1/connection is 'tcp': not pty or socket\n",
    );
    // The xl-compatible list is unchanged by all this.
    let xl = real_xl(&["channel-list", "71"], "71 72", None);
    expect(&xl, 0, &ours(&["list", "71"]).stdout, "");
    expect(
        &ours(&["list", "--json"]),
        2,
        &ours(&["list", "--help"]).stdout,
        "'xlchannel list' requires at least 1 argument.\n\n",
    );
    let help = ours(&["list", "--json", "--help"]);
    assert_eq!((help.status, help.stderr.as_str()), (0, ""));
    assert!(help.stdout.contains("xlchannel list --json DOMAIN..."));
}

// ---- dm-args ------------------------------------------------------------------------

#[test]
fn dm_args_are_shell_words_of_the_chardev_arguments() {
    let xs = store();
    register(&xs, 61, "cli-dm");
    register(&xs, 62, "cli-dm-none");
    let mut dm = DeviceModels::new("dm");
    dm.start(61);
    let d = dm.path("");
    let d = d.trim_end_matches('/');
    expect(
        &dm.ours(&[
            "add",
            "cli-dm",
            &format!("connection=socket,name=org.a,path={d}/a.sock"),
            "connection=pty,name=org.b",
            &format!("connection=socket,name=org.c,path={d}/it's here"),
        ]),
        0,
        "1\n2\n3\n",
        "",
    );
    // A path with a comma: qemu's option syntax doubles it (the SPEC parser cannot produce
    // one, libxl's add can).
    write(&xs, "/libxl/61/device/console/1/path", b"/run/a,b.sock");
    let line = &format!(
        "-chardev socket,id=libxl-channel1,path=/run/a,,b.sock,server=on,wait=off \
         -chardev pty,id=libxl-channel2 \
         -chardev 'socket,id=libxl-channel3,path={d}/it'\\''s here,server=on,wait=off'\n"
    );
    expect(&ours(&["dm-args", "61"]), 0, line, "");
    expect(&ours(&["dm-args", "cli-dm"]), 0, line, "");

    // The shell reads the words back exactly.
    let words = Command::new("sh")
        .args([
            "-c",
            "eval \"set -- $(\"$0\" dm-args 61)\"; printf '[%s]\\n' \"$@\"",
            env!("CARGO_BIN_EXE_xlchannel"),
        ])
        .output()
        .expect("running sh");
    assert_eq!(
        String::from_utf8_lossy(&words.stdout),
        format!(
            "[-chardev]\n[socket,id=libxl-channel1,path=/run/a,,b.sock,server=on,wait=off]\n\
             [-chardev]\n[pty,id=libxl-channel2]\n\
             [-chardev]\n[socket,id=libxl-channel3,path={d}/it's here,server=on,wait=off]\n"
        )
    );

    expect(&ours(&["dm-args", "cli-dm-none"]), 0, "", "");
    expect(
        &ours(&["dm-args", "69"]),
        1,
        "",
        "xlchannel dm-args: domain 69 does not exist\n",
    );
    expect(
        &ours(&["dm-args", "nope"]),
        1,
        "",
        "nope is an invalid domain identifier (rc=-6)\n",
    );
    write(&xs, "/libxl/61/device/console/3/path", b"");
    expect(
        &ours(&["dm-args", "61"]),
        1,
        "",
        "xlchannel dm-args: channel 3 has an empty path\n",
    );
    expect(
        &ours(&["dm-args", "61", "62"]),
        2,
        "",
        "xlchannel dm-args: expects one DOMAIN; see 'xlchannel dm-args --help'\n",
    );
}

// ---- config -------------------------------------------------------------------------

/// Enough of a guest for `xl -N create` to get past the channels.
const GUEST: &str = "name = \"cli\"\nmemory = 128\nkernel = \"/nonexistent/vmlinuz\"\n";

/// xl's `channels` array as `xlchannel config` prints it: the array alone at the top level
/// (one indentation level less), without xl's `"devid": i` lines; `[`, blank line, `]` when
/// xl prints no channels.
fn xl_channels_as_ours(xl_json: &str) -> String {
    let lines: Vec<&str> = xl_json.lines().collect();
    let Some(start) = lines.iter().position(|l| *l == "    \"channels\": [") else {
        return "[\n\n]\n".to_owned();
    };
    let end = start
        + lines[start..]
            .iter()
            .position(|l| *l == "    ]" || *l == "    ],")
            .expect("the channels array ends");
    let mut out = String::from("[\n");
    for line in &lines[start + 1..end] {
        let trimmed = line.trim_start();
        if trimmed.starts_with("\"devid\": ") {
            continue;
        }
        out.push_str(line.strip_prefix("    ").unwrap_or(line));
        out.push('\n');
    }
    out.push_str("]\n");
    out
}

#[test]
fn config_matches_real_xl_dry_run() {
    let dir = std::env::temp_dir().join(format!("xlchannel-cli.{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: &[(&str, &[u8])] = &[
        (
            "pty, socket, backend, warnings",
            b"channel = [ \"connection=pty,name=org.a,foo=1\",\n  'name=org.b,connection=socket,path=/run/b \"q\".sock',\n  \"backend=drv,connection=pty\" ]\n",
        ),
        ("no channels", b""),
        ("empty list", b"channel = [ ]\n"),
        ("a single string", b"channel = \"connection=pty\"\n"),
        ("unparsable field", b"channel = [ \"connection=pty,name\" ]\n"),
        ("no connection", b"channel = [ \"x=1,name=n\" ]\n"),
        ("syntax error", b"channel = [ \"connection=pty\",\n"),
        ("escapes and non-ASCII", b"channel = [ \"connection=pty,name=caf\xc3\xa9\\x41\" ]\n"),
    ];
    for (name, lines) in cases {
        let mut config = GUEST.as_bytes().to_vec();
        config.extend_from_slice(lines);
        std::fs::write(dir.join("guest.cfg"), &config).unwrap();
        let xl = real_xl(&["-N", "create", "guest.cfg"], "0", Some(&dir));
        let got = ours_in(&dir, &["config", "guest.cfg"]);
        let xl_stderr = xl
            .stderr
            .strip_prefix("Parsing config from guest.cfg\n")
            .unwrap_or_else(|| panic!("{name}: xl's stderr: {:?}", xl.stderr));
        assert_eq!(
            (got.status, got.stderr.as_str()),
            (xl.status, xl_stderr),
            "{name}: (status, stderr)"
        );
        let want = if xl.status == 0 {
            xl_channels_as_ours(&xl.stdout)
        } else {
            String::new()
        };
        assert_eq!(got.stdout, want, "{name}: stdout");
    }

    // The bytes themselves, for the record.
    std::fs::write(
        dir.join("guest.cfg"),
        format!("{GUEST}channel = [ 'connection=pty,name=org.a', 'connection=socket,path=/s' ]\n"),
    )
    .unwrap();
    expect(
        &ours_in(&dir, &["config", "guest.cfg"]),
        0,
        "[\n    {\n        \"name\": \"org.a\",\n        \"connection.pty\": {\n\n        }\n    },\n    \
         {\n        \"connection.socket\": {\n            \"path\": \"/s\"\n        }\n    }\n]\n",
        "",
    );

    // A file that cannot be read: xl's message and status.
    let xl = real_xl(&["-N", "create", "missing.cfg"], "0", Some(&dir));
    let got = ours_in(&dir, &["config", "missing.cfg"]);
    assert_eq!(got, xl);
    expect(
        &got,
        3,
        "",
        "Failed to read config file: missing.cfg: No such file or directory\n",
    );
    std::fs::remove_dir_all(&dir).unwrap();

    expect(
        &ours(&["config"]),
        2,
        "",
        "xlchannel config: expects one FILE; see 'xlchannel config --help'\n",
    );
}

// ---- help and usage -----------------------------------------------------------------

#[test]
fn help_and_usage_errors() {
    for (command, usage) in [
        ("config", "Usage: xlchannel config FILE\n"),
        ("add", "Usage: xlchannel add DOMAIN SPEC...\n"),
        ("list", "Usage: xlchannel list DOMAIN...\n"),
        ("dm-args", "Usage: xlchannel dm-args DOMAIN\n"),
        (
            "remove",
            "Usage: xlchannel remove DOMAIN DEVID|NAME [--force]\n",
        ),
    ] {
        for help in ["-h", "--help", "--he"] {
            let got = ours(&[command, help]);
            assert_eq!(
                (got.status, got.stderr.as_str()),
                (0, ""),
                "{command} {help}"
            );
            assert!(
                got.stdout.starts_with(usage),
                "{command} {help}: {:?}",
                got.stdout
            );
        }
    }
    let top = ours(&["--help"]);
    assert_eq!((top.status, top.stderr.as_str()), (0, ""));
    assert!(top
        .stdout
        .starts_with("Usage: xlchannel COMMAND [ARGS...]\n"));
    assert_eq!(ours(&["help"]), top);
    expect(
        &ours(&["--version"]),
        0,
        &format!("xlchannel {}\n", env!("CARGO_PKG_VERSION")),
        "",
    );
    expect(
        &ours(&[]),
        2,
        "",
        "xlchannel: no COMMAND (config, add, list, dm-args or remove); see 'xlchannel --help'\n",
    );
    expect(
        &ours(&["frob"]),
        2,
        "",
        "xlchannel: unknown command 'frob'; see 'xlchannel --help'\n",
    );
    expect(
        &ours(&["add", "-x", "1", "connection=pty"]),
        2,
        "",
        "xlchannel add: option `x' not supported. See 'xlchannel add --help'\n",
    );
    expect(
        &ours(&["list", "--frob"]),
        2,
        "",
        "option `--frob' not supported.\n",
    );
}

/// The three node directories of console `devid` that exist.
fn console_dirs(xs: &XenStore, domid: u32, devid: i32) -> usize {
    [
        format!("/local/domain/{domid}/device/console/{devid}"),
        format!("/local/domain/0/backend/console/{domid}/{devid}"),
        format!("/libxl/{domid}/device/console/{devid}"),
    ]
    .iter()
    .filter(|p| read(xs, p).is_some())
    .count()
}

#[test]
fn remove_by_devid_or_name_and_its_errors() {
    let xs = store();
    register(&xs, 56, "cli-remove");
    let mut dm = DeviceModels::new("remove");
    dm.start(56);
    let ours = |args: &[&str]| dm.ours(args);
    let two = dm.path("two.sock");
    expect(
        &ours(&[
            "add",
            "cli-remove",
            "connection=pty,name=org.one",
            &format!("connection=socket,name=org.two,path={two}"),
            "connection=pty,name=org.three",
        ]),
        0,
        "1\n2\n3\n",
        "",
    );
    // By console devid, by name (gracefully: no driver took these frontends, so no wait),
    // and by force.
    expect(&ours(&["remove", "56", "2"]), 0, "", "");
    assert_eq!(console_dirs(&xs, 56, 2), 0);
    assert_eq!(console_dirs(&xs, 56, 1), 3);
    expect(&ours(&["remove", "cli-remove", "org.three"]), 0, "", "");
    assert_eq!(console_dirs(&xs, 56, 3), 0);
    expect(&ours(&["remove", "--force", "56", "1"]), 0, "", "");
    assert_eq!(read(&xs, "/libxl/56/device/console"), Some(Vec::new()));
    expect(
        &ours(&["remove", "56", "1"]),
        1,
        "",
        "xlchannel remove: domain 56 has no console 1\n",
    );
    expect(
        &ours(&["remove", "56", "org.one"]),
        1,
        "",
        "xlchannel remove: domain 56 has no channel named 'org.one'\n",
    );
    expect(
        &ours(&["remove", "56", "0"]),
        1,
        "",
        "xlchannel remove: channel devid 0: console 0 is the primary console, channels use devid 1 and up\n",
    );
    expect(
        &ours(&["remove", "56", "99999999999"]),
        1,
        "",
        "xlchannel remove: DEVID 99999999999 is out of range\n",
    );
    expect(
        &ours(&["remove", "57", "1"]),
        1,
        "",
        "xlchannel remove: domain 57 does not exist\n",
    );
    expect(
        &ours(&["remove", "56"]),
        2,
        "",
        "xlchannel remove: expects DOMAIN and a DEVID or NAME; see 'xlchannel remove --help'\n",
    );
    // A console that is not a channel (no name) is left alone.
    write(
        &xs,
        "/libxl/56/device/console/4/backend",
        b"/local/domain/0/backend/console/56/4",
    );
    expect(
        &ours(&["remove", "56", "4"]),
        1,
        "",
        "xlchannel remove: console 4 of domain 56 is not a channel (it has no name)\n",
    );
}

/// A real qemu as domain 58's device model: `add` hot-plugs the socket (it listens when add
/// returns), `remove` unplugs it (nothing listens, no file, no nodes).
#[test]
fn add_and_remove_through_a_real_device_model() {
    let xs = store();
    register(&xs, 58, "cli-hotplug");
    let mut dm = DeviceModels::new("hp");
    dm.start(58);
    let qmp = dm.qmp_socket(58);
    let sock = PathBuf::from(dm.path("agent.sock"));
    let spec = format!("connection=socket,name=org.agent,path={}", sock.display());
    let added = dm.ours(&["add", "58", &spec]);
    let listening = std::os::unix::net::UnixStream::connect(&sock).is_ok();
    let removed = dm.ours(&["remove", "58", "org.agent"]);
    let gone = !sock.exists() && std::os::unix::net::UnixStream::connect(&sock).is_err();
    dm.stop();
    let dead = dm.ours(&["add", "58", &spec]);
    expect(&added, 0, "1\n", "");
    assert!(listening, "the channel's socket listens when add returns");
    expect(&removed, 0, "", "");
    assert!(gone, "the socket is gone after remove");
    assert_eq!(console_dirs(&xs, 58, 1), 0);
    expect(
        &dead,
        1,
        "",
        &format!(
            "xlchannel add: hotplug into the device model of domain 58 (nothing was added): \
             device model QMP socket {qmp}: connect: Connection refused (os error 111)\n"
        ),
    );
    assert_eq!(console_dirs(&xs, 58, 1), 0);
}

/// qemu killed between two steps of one add: a relay on domain 59's QMP socket passes every
/// line between `xlchannel add` and a real qemu, and kills that qemu when the add's second
/// chardev-add comes. The add fails naming the step and the chardev it could not remove
/// again (qemu is gone), and no node of either channel is written.
#[test]
fn qemu_killed_between_two_chardev_adds() {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::{UnixListener, UnixStream};
    let xs = store();
    register(&xs, 59, "cli-killed");
    let mut dm = DeviceModels::new("kill");
    // The real qemu's QMP socket is named for an unused domid; the relay takes 59's.
    dm.start(9059);
    let qemu_pid = dm.qemus[0].id();
    let real = dm.qmp_socket(9059);
    let front = dm.qmp_socket(59);
    let listener = UnixListener::bind(&front).unwrap();
    let relay = std::thread::spawn(move || -> usize {
        let (client, _) = listener.accept().unwrap();
        let upstream = UnixStream::connect(&real).unwrap();
        let (mut to_client, mut to_qemu) =
            (client.try_clone().unwrap(), upstream.try_clone().unwrap());
        let back = std::thread::spawn(move || {
            let _ = std::io::copy(&mut BufReader::new(upstream), &mut to_client);
        });
        let mut adds = 0;
        for line in BufReader::new(client).split(b'\n') {
            let Ok(mut line) = line else { break };
            if line.windows(13).any(|w| w == b"\"chardev-add\"") {
                adds += 1;
                if adds == 2 {
                    // kill(1) of the qemu this test started.
                    let _ = Command::new("kill")
                        .args(["-KILL", &qemu_pid.to_string()])
                        .status();
                    break;
                }
            }
            line.push(b'\n');
            if to_qemu.write_all(&line).is_err() {
                break;
            }
        }
        let _ = back.join();
        adds
    });
    let first = dm.path("first.sock");
    let second = dm.path("second.sock");
    let added = dm.ours(&[
        "add",
        "59",
        &format!("connection=socket,name=org.first,path={first}"),
        &format!("connection=socket,name=org.second,path={second}"),
    ]);
    assert_eq!(
        relay.join().unwrap(),
        2,
        "the add reached its second chardev-add"
    );
    let qmp = dm.qmp_socket(59);
    expect(
        &added,
        1,
        "",
        &format!(
            "xlchannel add: hotplug step chardev-add libxl-channel2 (nothing written to xenstore; \
             could not remove chardev libxl-channel1 (device model QMP socket {qmp}: write: Broken \
             pipe (os error 32)) again): device model QMP socket {qmp}: qemu closed the connection\n"
        ),
    );
    assert_eq!(console_dirs(&xs, 59, 1), 0);
    assert_eq!(console_dirs(&xs, 59, 2), 0);
    assert_eq!(read(&xs, "/libxl/59"), None);
    assert!(
        UnixStream::connect(&first).is_err(),
        "nothing listens on the first socket"
    );
}
