//! `xlchannel`: Xen channels from the command line, as xl 4.17 reads and lists them.
//!
//! A thin layer over the library's Rust API: `xlcfg` reads configs and SPECs, `channel::store`
//! adds and lists channels in xenstore, `devicemodel` builds qemu's arguments. Output and
//! errors follow xl wherever xl has a counterpart (`config` ~ `xl -N create`, `list` ~
//! `xl channel-list`), byte for byte; see `xlchannel COMMAND --help` and the README.

use std::ffi::{CString, OsStr, OsString};
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

use xlchannel::channel::json::device_channels_to_json;
use xlchannel::channel::{
    hotplug, remove as unplug, store, ChannelInfo, Connection, DeviceChannel,
};
use xlchannel::devicemodel::chardev_args;
use xlchannel::json::JsonWriter;
use xlchannel::xenstore::XenStore;
use xlchannel::xlcfg::{self, Diagnostic};
use xlchannel::Error;

/// Exit status for a usage error (xl's).
const EXIT_USAGE: u8 = 2;
/// xl's exit status when it cannot read a config file (`-ERROR_FAIL`).
const EXIT_UNREADABLE_CONFIG: u8 = 3;

const USAGE: &str = "\
Usage: xlchannel COMMAND [ARGS...]

Xen channels as xl 4.17 configures and lists them, through the xlchannel library.

Commands:
  config FILE           print the channels of an xl domain config as libxl JSON
  add DOMAIN SPEC...    add channels to a domain; prints each one's console devid
  add DOMAIN --config FILE
                        add the channels of an xl domain config to a domain
  list DOMAIN...        list the channels of domains, as `xl channel-list` does
  list --json DOMAIN... the same channels as JSON, with names and paths
  dm-args DOMAIN        print the qemu -chardev arguments of a domain's channels
  remove DOMAIN DEVID|NAME [--force]
                        unplug a channel (its chardev and its xenstore nodes)

DOMAIN is a domid or a domain name (/local/domain/*/name). The daemon is the one
libxenstore finds (XENSTORED_PATH). 'xlchannel COMMAND --help' tells more;
'xlchannel --version' prints the version.
";

const CONFIG_HELP: &str = "\
Usage: xlchannel config FILE

Read the channels of an xl domain configuration file exactly as `xl create` 4.17 reads
them (libxlutil's syntax, the `channel = [ \"SPEC\", ... ]` rules) and print them.

stdout: a JSON array of the channels in config order, each written as
        libxl_device_channel_to_json writes it and laid out as libxl lays out the
        \"channels\" array of `xl -N create`, at the top level. The channels have no
        \"devid\": xl 4.17 numbers them 0, 1, ..., which puts channel 0 on the primary
        console; here they keep devid -1, so domain creation makes channel i console i+1.
stderr: what xl prints about them after its \"Parsing config from FILE\" line.
Exit status: xl's: 0; 1 for a config xl refuses; 3 for a file that cannot be read.
Nothing else in the file is checked.
";

const ADD_HELP: &str = "\
Usage: xlchannel add DOMAIN SPEC...
       xlchannel add DOMAIN --config FILE

Add channels to a running domain. Each SPEC is written as a string of an xl config's
channel list, for example
    connection=socket,name=org.example.agent,path=/run/agent.sock
    connection=pty,name=org.example.console,backend=driver-dom
and read as xl reads it (same warnings and errors). With --config FILE (or
--config=FILE), the channels are those of the xl domain configuration FILE, read as
`xl create` reads them (as `xlchannel config FILE` shows them; the same warnings, errors
and exit status). All channels are read first, then added: all of them, or none (each in
a xenstore transaction of its own; if one fails, those already added are removed again).
Each takes the first free console devid >= 1, printed on a line of its own. A socket
channel's path must be absolute; a name the domain's channels already have, or two
channels with one name, are refused.

Hotplug: when the domain's device model runs (its QMP socket <run dir>/qmp-libxl-<domid>
exists; the run dir is /var/run/xen or $XLCHANNEL_RUN_DIR), each channel served by this
domain first gets its chardev there (chardev-add libxl-channel<devid>), so a socket
channel listens when add returns. A chardev qemu refuses, or a device model that does not
answer, adds nothing; nodes that cannot be written get their chardevs removed again.
Without that socket, a channel served by this domain would have no backend: after the
checks above the add fails (status 1, naming the domain and the socket) and writes
nothing. Channels served by another domain need no device model here.

DOMAIN must be a domid of an existing domain, 0 to 32751 (domids from 32752 up are
reserved), or the name of an existing domain.

Console devid N is channel N-1 in `xlchannel list` when the domain's consoles are 1..n.
";

const LIST_HELP: &str = "\
Usage: xlchannel list DOMAIN...
       xlchannel list --json DOMAIN...

List the channels of each DOMAIN exactly as `xl channel-list` 4.17 does: the same header,
columns and rows on stdout, the same errors and exit status (1 for a DOMAIN that is not
a domid or a known name; 2 without a DOMAIN). Idx numbers a domain's channels from 0.

With --json: one JSON array on stdout with an object per channel, the domains in the
order given and each domain's channels in console devid order:
    {\"domid\": 7, \"devid\": 1, \"name\": \"org.example.agent\",
     \"connection\": \"socket\", \"path\": \"/run/agent.sock\",
     \"backend_domid\": 0, \"state\": 1}
devid is the console devid (what `add` printed); path is the socket's path, or for a pty
the pty the backend recorded (null until there is one); backend_domid and state are
libxl_channelinfo's backend_id and state (the frontend's XenbusState, -1 when it has
none), null when they cannot be read. Every DOMAIN is resolved first: an unknown one
prints nothing and exits 1. A domain or channel that cannot be read is left out (or
gets nulls) with a line on stderr, and the status is 1.
";

const DM_ARGS_HELP: &str = "\
Usage: xlchannel dm-args DOMAIN

Print the qemu arguments that give each channel of DOMAIN its character device, as
libxl 4.17 passes them to qemu-xen: a `-chardev SPEC` pair per channel, in console devid
order, as one line of shell words (quoted only where a shell needs it), where SPEC is
    pty,id=libxl-channel<devid>
    socket,id=libxl-channel<devid>,path=<path>,server=on,wait=off
and <devid> the channel's console devid, which its console's `output` node names. Use:
    eval \"set -- $(xlchannel dm-args DOMAIN)\"; qemu-system-x86_64 ... \"$@\"
A domain without channels prints nothing; a domid that is not in xenstore is an error.
";

const REMOVE_HELP: &str = "\
Usage: xlchannel remove DOMAIN DEVID|NAME [--force]

Unplug a channel from DOMAIN: the channel on console DEVID (what `add` printed), or the
channel named NAME. Graceful by default, with libxl's device removal protocol: the backend
goes offline and Closing, the guest's frontend gets a few seconds to close (a frontend no
driver took is not waited for), then the channel's chardev is removed from the domain's
device model (its socket stops listening) and its frontend, backend and /libxl nodes go.
When the device model does not answer, or refuses, nothing is removed and the status is 1.
--force removes without waiting, and the nodes go even when the device model cannot be
reached (a warning on stderr; a socket nobody listens on is deleted).
The device model is found at <run dir>/qmp-libxl-<domid>, the run dir being /var/run/xen
or $XLCHANNEL_RUN_DIR; a domain without it has only nodes to remove.
";

/// stdout (buffered) and stderr. stdout is flushed before anything goes to stderr, so a
/// terminal shows both in the order they were written.
struct Io {
    out: BufWriter<io::StdoutLock<'static>>,
}

impl Io {
    fn out(&mut self, bytes: &[u8]) {
        // A failed write shows at the final flush.
        let _ = self.out.write_all(bytes);
    }

    fn err(&mut self, bytes: &[u8]) {
        let _ = self.out.flush();
        let _ = io::stderr().write_all(bytes);
    }

    fn err_line(&mut self, line: &str) {
        self.err(format!("{line}\n").as_bytes());
    }

    fn err_lines(&mut self, lines: &[Diagnostic]) {
        for line in lines {
            let mut bytes = line.as_bytes().to_vec();
            bytes.push(b'\n');
            self.err(&bytes);
        }
    }
}

/// What a subcommand's arguments ask for.
enum Args {
    Help,
    Operands(Vec<OsString>),
}

/// Options as xl's commands take them: only `-h`/`--help` (or an abbreviation), before the
/// first operand; `--` ends them; `-` alone is an operand. With no other option, the first
/// argument decides. An unknown option gives xl's message, naming the option's first letter
/// (xl names a long one by a NUL byte; here it is spelled out).
fn parse_options(args: &[OsString]) -> Result<Args, String> {
    let Some(first) = args.first().map(|a| a.as_bytes()) else {
        return Ok(Args::Operands(Vec::new()));
    };
    if first == b"--" {
        return Ok(Args::Operands(args[1..].to_vec()));
    }
    if let Some(long) = first.strip_prefix(b"--") {
        let name = long.split(|&b| b == b'=').next().unwrap_or_default();
        if !name.is_empty() && b"help".starts_with(name) {
            return Ok(Args::Help);
        }
        return Err(format!(
            "option `--{}' not supported.",
            String::from_utf8_lossy(name)
        ));
    }
    match first {
        [b'-', b'h', ..] => Ok(Args::Help),
        [b'-', c, ..] => Err(format!(
            "option `{}' not supported.",
            String::from_utf8_lossy(&[*c])
        )),
        _ => Ok(Args::Operands(args.to_vec())),
    }
}

/// The operands of a command other than `list`, or its exit status after help or a usage
/// error (one line on stderr).
fn operands(
    io: &mut Io,
    command: &str,
    args: &[OsString],
    help: &str,
    count_ok: impl Fn(usize) -> bool,
    wanted: &str,
) -> Result<Vec<OsString>, u8> {
    match parse_options(args) {
        Ok(Args::Help) => {
            io.out(help.as_bytes());
            Err(0)
        }
        Ok(Args::Operands(ops)) if count_ok(ops.len()) => Ok(ops),
        Ok(Args::Operands(_)) => {
            io.err_line(&format!(
                "xlchannel {command}: expects {wanted}; see 'xlchannel {command} --help'"
            ));
            Err(EXIT_USAGE)
        }
        Err(message) => {
            io.err_line(&format!(
                "xlchannel {command}: {message} See 'xlchannel {command} --help'"
            ));
            Err(EXIT_USAGE)
        }
    }
}

fn connect(io: &mut Io, command: &str) -> Result<XenStore, u8> {
    XenStore::open().map_err(|e| {
        io.err_line(&format!("xlchannel {command}: {e}"));
        1
    })
}

/// A domid, or the domain with that name, as xl's `find_domain` resolves it; its message
/// and exit status otherwise.
fn find_domain(io: &mut Io, xs: &XenStore, qualifier: &OsStr) -> Result<u32, u8> {
    let as_c = CString::new(qualifier.as_bytes()).expect("arguments hold no NUL");
    xs.plain()
        .and_then(|t| store::resolve_domain(&t, &as_c))
        .map_err(|e| {
            let mut line = qualifier.as_bytes().to_vec();
            line.extend_from_slice(
                format!(" is an invalid domain identifier (rc={})\n", e.code()).as_bytes(),
            );
            io.err(&line);
            1
        })
}

/// Domids from here up are reserved by Xen (`DOMID_FIRST_RESERVED`): no domain has one.
const DOMID_FIRST_RESERVED: u64 = 0x7FF0;

/// The domain a command that writes works on: a domid in range whose `/local/domain/<domid>`
/// exists, or the name of an existing domain. Unlike xl's `strtoul` (which `list` keeps), an
/// empty DOMAIN or a number out of range is refused rather than wrapped onto another domain.
fn find_writable_domain(
    io: &mut Io,
    xs: &XenStore,
    command: &str,
    qualifier: &OsStr,
) -> Result<u32, u8> {
    let q = qualifier.as_bytes();
    if q.is_empty() {
        io.err_line(&format!(
            "xlchannel {command}: DOMAIN is empty; give a domid or a domain name"
        ));
        return Err(1);
    }
    if !q.iter().all(u8::is_ascii_digit) {
        return find_domain(io, xs, qualifier);
    }
    let digits = String::from_utf8_lossy(q);
    let domid = match digits.parse::<u64>() {
        Ok(d) if d < DOMID_FIRST_RESERVED => d as u32,
        _ => {
            io.err_line(&format!(
                "xlchannel {command}: domid {digits} is out of range: domains have ids 0 to {}",
                DOMID_FIRST_RESERVED - 1
            ));
            return Err(1);
        }
    };
    match xs.transaction(|t| t.directory(&format!("/local/domain/{domid}"))) {
        Ok(Some(_)) => Ok(domid),
        Ok(None) => {
            io.err_line(&format!(
                "xlchannel {command}: domain {domid} does not exist"
            ));
            Err(1)
        }
        Err(e) => {
            io.err_line(&format!("xlchannel {command}: {e}"));
            Err(1)
        }
    }
}

fn strerror(e: &io::Error) -> String {
    match e.raw_os_error() {
        // SAFETY: strerror returns a valid C string; it is copied before any other call.
        Some(errno) => unsafe { std::ffi::CStr::from_ptr(libc::strerror(errno)) }
            .to_string_lossy()
            .into_owned(),
        None => e.to_string(),
    }
}

/// The channels of the xl config file at `path` as `xl create` reads them, xl's messages
/// already on stderr; or xl's exit status.
fn config_channels(io: &mut Io, path: &OsStr) -> Result<Vec<DeviceChannel>, u8> {
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(e) => {
            let mut line = b"Failed to read config file: ".to_vec();
            line.extend_from_slice(path.as_bytes());
            line.extend_from_slice(format!(": {}\n", strerror(&e)).as_bytes());
            io.err(&line);
            return Err(EXIT_UNREADABLE_CONFIG);
        }
    };
    match xlcfg::channels_from_xl_config(&path.to_string_lossy(), &data) {
        Ok(got) => {
            io.err(&got.stderr());
            Ok(got.channels)
        }
        Err(fatal) => {
            io.err(&fatal.stderr());
            Err(fatal.exit_status() as u8)
        }
    }
}

fn config(io: &mut Io, args: &[OsString]) -> u8 {
    let ops = match operands(io, "config", args, CONFIG_HELP, |n| n == 1, "one FILE") {
        Ok(ops) => ops,
        Err(status) => return status,
    };
    match config_channels(io, &ops[0]) {
        Ok(channels) => {
            io.out(&device_channels_to_json(&channels));
            0
        }
        Err(status) => status,
    }
}

/// `add`'s arguments with `--config FILE` / `--config=FILE` (anywhere before a `--`) taken
/// out: the FILE, if any, and the rest as the other commands' arguments.
fn take_config_option(
    io: &mut Io,
    args: &[OsString],
) -> Result<(Option<OsString>, Vec<OsString>), u8> {
    let mut file = None;
    let mut rest = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let bytes = arg.as_bytes();
        let value = if bytes == b"--" {
            rest.push(arg.clone());
            rest.extend(iter.by_ref().cloned());
            break;
        } else if bytes == b"--config" {
            match iter.next() {
                Some(v) => v.clone(),
                None => {
                    io.err_line("xlchannel add: --config needs a FILE; see 'xlchannel add --help'");
                    return Err(EXIT_USAGE);
                }
            }
        } else if let Some(v) = bytes.strip_prefix(b"--config=") {
            OsStr::from_bytes(v).to_owned()
        } else {
            rest.push(arg.clone());
            continue;
        };
        if file.replace(value).is_some() {
            io.err_line("xlchannel add: --config given twice; see 'xlchannel add --help'");
            return Err(EXIT_USAGE);
        }
    }
    Ok((file, rest))
}

fn add(io: &mut Io, args: &[OsString]) -> u8 {
    let (config_file, args) = match take_config_option(io, args) {
        Ok(split) => split,
        Err(status) => return status,
    };
    let (count_ok, wanted): (fn(usize) -> bool, _) = if config_file.is_some() {
        (|n| n == 1, "DOMAIN and --config FILE, no SPECs")
    } else {
        (|n| n >= 2, "DOMAIN and one or more SPECs")
    };
    let ops = match operands(io, "add", &args, ADD_HELP, count_ok, wanted) {
        Ok(ops) => ops,
        Err(status) => return status,
    };
    let mut channels = Vec::new();
    if let Some(file) = &config_file {
        match config_channels(io, file) {
            Ok(got) => channels = got,
            Err(status) => return status,
        }
    }
    for spec in &ops[1..] {
        match xlcfg::channel_from_xl_spec(spec.as_bytes()) {
            Ok(got) => {
                io.err_lines(&got.warnings);
                channels.push(got.channel);
            }
            // xl's messages, each on a line of its own (xl ends one of them without a
            // newline, which `config` reproduces).
            Err(fatal) => {
                io.err_lines(&fatal.warnings);
                io.err_lines(&fatal.error.lines());
                return fatal.exit_status() as u8;
            }
        }
    }
    let xs = match connect(io, "add") {
        Ok(xs) => xs,
        Err(status) => return status,
    };
    let domid = match find_writable_domain(io, &xs, "add", &ops[0]) {
        Ok(domid) => domid,
        Err(status) => return status,
    };
    if channels.is_empty() {
        let file = config_file.as_deref().unwrap_or_default();
        let mut line = b"xlchannel add: ".to_vec();
        line.extend_from_slice(file.as_bytes());
        line.extend_from_slice(b" has no channels; nothing added\n");
        io.err(&line);
        return 0;
    }
    match hotplug::add_all(&xs, domid, &channels) {
        Ok(placed) => {
            for (devid, _) in placed {
                io.out(format!("{devid}\n").as_bytes());
            }
            0
        }
        Err(e) => {
            io.err_line(&format!("xlchannel add: {e}"));
            1
        }
    }
}

/// `remove DOMAIN DEVID|NAME [--force]`.
fn remove(io: &mut Io, args: &[OsString]) -> u8 {
    let mut force = false;
    let mut rest = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_bytes() {
            b"--" => {
                rest.push(arg.clone());
                rest.extend(iter.by_ref().cloned());
            }
            b"--force" | b"-f" => force = true,
            _ => rest.push(arg.clone()),
        }
    }
    let ops = match operands(
        io,
        "remove",
        &rest,
        REMOVE_HELP,
        |n| n == 2,
        "DOMAIN and a DEVID or NAME",
    ) {
        Ok(ops) => ops,
        Err(status) => return status,
    };
    let xs = match connect(io, "remove") {
        Ok(xs) => xs,
        Err(status) => return status,
    };
    let domid = match find_writable_domain(io, &xs, "remove", &ops[0]) {
        Ok(domid) => domid,
        Err(status) => return status,
    };
    let which = ops[1].as_bytes();
    let devid = if !which.is_empty() && which.iter().all(u8::is_ascii_digit) {
        match String::from_utf8_lossy(which).parse::<i32>() {
            Ok(devid) => devid,
            Err(_) => {
                io.err_line(&format!(
                    "xlchannel remove: DEVID {} is out of range",
                    String::from_utf8_lossy(which)
                ));
                return 1;
            }
        }
    } else {
        match xs.transaction(|t| store::list_by_console(t, domid)) {
            Ok(channels) => match channels
                .iter()
                .find(|c| c.name.as_ref().is_some_and(|n| n.as_bytes() == which))
            {
                Some(c) => c.devid,
                None => {
                    io.err_line(&format!(
                        "xlchannel remove: domain {domid} has no channel named '{}'",
                        String::from_utf8_lossy(which)
                    ));
                    return 1;
                }
            },
            Err(e) => {
                io.err_line(&format!("xlchannel remove: {e}"));
                return 1;
            }
        }
    };
    match unplug::remove(&xs, domid, devid, force) {
        Ok(warnings) => {
            for w in warnings {
                io.err_line(&format!("xlchannel remove: warning: {w}"));
            }
            0
        }
        Err(e) => {
            io.err_line(&format!("xlchannel remove: {e}"));
            1
        }
    }
}

/// `%-<width>s` of C's printf: the bytes, then spaces up to `width` bytes.
fn padded(bytes: &[u8], width: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out.resize(width.max(bytes.len()), b' ');
    out
}

/// One row of `xl channel-list`.
fn list_row(channel: &DeviceChannel, info: &ChannelInfo) -> Vec<u8> {
    let connection = Connection::from_raw(channel.connection).map_or("(null)", Connection::name);
    let mut row = format!(
        "{:<3} {:<2} {:<5} {:<6} {:<8} {:<10} ",
        channel.devid, info.backend_id as i32, info.state, info.evtch, info.rref, connection
    )
    .into_bytes();
    if channel.connection() == Some(Connection::Pty) {
        let path = info
            .pty_path
            .as_ref()
            .map_or(&b"(null)"[..], |p| p.as_bytes());
        row.extend(padded(path, 30));
        row.push(b' ');
    }
    row.push(b'\n');
    row
}

/// One channel of `list --json`.
fn json_channel(
    w: &mut JsonWriter,
    domid: u32,
    channel: &DeviceChannel,
    info: Option<&ChannelInfo>,
) {
    w.open_map();
    w.key(b"domid");
    w.integer(i64::from(domid));
    w.key(b"devid");
    w.integer(i64::from(channel.devid));
    w.key(b"name");
    match &channel.name {
        Some(name) => w.string(name.as_bytes()),
        None => w.null(),
    }
    let connection = channel.connection();
    w.key(b"connection");
    match connection {
        Some(c) => w.string(c.name().as_bytes()),
        None => w.null(),
    }
    let path = match connection {
        Some(Connection::Socket) => channel.socket_path.as_ref(),
        // The backend writes the pty into the frontend's (initially empty) `tty`.
        _ => info
            .and_then(|i| i.pty_path.as_ref())
            .filter(|p| !p.as_bytes().is_empty() && p.as_bytes() != b"/NO-SUCH-PATH"),
    };
    w.key(b"path");
    match path {
        Some(p) => w.string(p.as_bytes()),
        None => w.null(),
    }
    w.key(b"backend_domid");
    match info {
        Some(i) => w.integer(i64::from(i.backend_id)),
        None => w.null(),
    }
    w.key(b"state");
    match info {
        Some(i) => w.integer(i64::from(i.state)),
        None => w.null(),
    }
    w.close_map();
}

/// `list --json`: every DOMAIN resolved first, then one array of all their channels.
fn list_json(io: &mut Io, xs: &XenStore, domains: &[OsString]) -> u8 {
    let mut domids = Vec::with_capacity(domains.len());
    for domain in domains {
        match find_domain(io, xs, domain) {
            Ok(domid) => domids.push(domid),
            Err(status) => return status,
        }
    }
    let mut status = 0;
    let mut w = JsonWriter::new();
    w.open_array();
    for domid in domids {
        // Channels by console devid; getinfo takes a list number and reads console
        // number + 1, so it is asked for devid - 1.
        let read = xs.transaction(|t| {
            let channels = store::list_by_console(t, domid)?;
            Ok(channels
                .into_iter()
                .map(|c| {
                    let asked = DeviceChannel {
                        devid: c.devid - 1,
                        ..c.clone()
                    };
                    let (info, _, result) = store::getinfo(t, domid, &asked);
                    (c, result.map(|()| info))
                })
                .collect::<Vec<_>>())
        });
        match read {
            Ok(rows) => {
                for (channel, info) in rows {
                    if let Err(e) = &info {
                        io.err_line(&format!(
                            "xlchannel list: domain {domid}: console {}: {e}",
                            channel.devid
                        ));
                        status = 1;
                    }
                    json_channel(&mut w, domid, &channel, info.as_ref().ok());
                }
            }
            Err(e) => {
                io.err_line(&format!("xlchannel list: domain {domid}: {e}"));
                status = 1;
            }
        }
    }
    w.close_array();
    io.out(&w.finish());
    status
}

fn list(io: &mut Io, args: &[OsString]) -> u8 {
    let json = args.first().is_some_and(|a| a == "--json");
    let args = if json { &args[1..] } else { args };
    let domains = match parse_options(args) {
        Ok(Args::Help) => {
            io.out(LIST_HELP.as_bytes());
            return 0;
        }
        Ok(Args::Operands(ops)) if !ops.is_empty() => ops,
        // xl's usage error: the message and a blank line on stderr, the help on stdout.
        Ok(Args::Operands(_)) => {
            io.err(b"'xlchannel list' requires at least 1 argument.\n\n");
            io.out(LIST_HELP.as_bytes());
            return EXIT_USAGE;
        }
        Err(message) => {
            io.err_line(&message);
            return EXIT_USAGE;
        }
    };
    let xs = match connect(io, "list") {
        Ok(xs) => xs,
        Err(status) => return status,
    };
    if json {
        return list_json(io, &xs, &domains);
    }
    io.out(
        format!(
            "{:<3} {:<2} {:<5} {:<6} {:>8} {:<10} {:<30}\n",
            "Idx", "BE", "state", "evt-ch", "ring-ref", "connection", ""
        )
        .as_bytes(),
    );
    for domain in &domains {
        let domid = match find_domain(io, &xs, domain) {
            Ok(domid) => domid,
            Err(status) => return status,
        };
        // Rows whose getinfo fails are left out, as xl leaves them out.
        // Plain reads, as xl's libxl calls read.
        let rows = xs.plain().and_then(|t| {
            Ok(store::list(&t, domid)?
                .into_iter()
                .filter_map(|c| match store::getinfo(&t, domid, &c) {
                    (info, _, Ok(())) => Some(list_row(&c, &info)),
                    _ => None,
                })
                .collect::<Vec<_>>())
        });
        match rows {
            Ok(rows) => rows.iter().for_each(|row| io.out(row)),
            // xl goes on with the next domain (libxl has logged why).
            Err(e) => io.err_line(&format!("xlchannel list: domain {domid}: {e}")),
        }
    }
    0
}

/// `word` as the shell reads it back: unquoted when it is made of characters no shell
/// treats specially, else in single quotes.
fn shell_word(word: &[u8]) -> Vec<u8> {
    let plain = |b: &u8| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(b);
    if !word.is_empty() && word.iter().all(plain) {
        return word.to_vec();
    }
    let mut out = b"'".to_vec();
    for &b in word {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    out
}

fn dm_args(io: &mut Io, args: &[OsString]) -> u8 {
    let ops = match operands(io, "dm-args", args, DM_ARGS_HELP, |n| n == 1, "one DOMAIN") {
        Ok(ops) => ops,
        Err(status) => return status,
    };
    let xs = match connect(io, "dm-args") {
        Ok(xs) => xs,
        Err(status) => return status,
    };
    let domid = match find_domain(io, &xs, &ops[0]) {
        Ok(domid) => domid,
        Err(status) => return status,
    };
    let result = xs
        .transaction(|t| {
            // Unlike `list`, an unknown domid is an error: no arguments for a guest that is
            // not there.
            if t.directory(&format!("/local/domain/{domid}"))?.is_none() {
                return Err(Error::DomainNotFound(format!(
                    "domain {domid} does not exist"
                )));
            }
            store::list_by_console(t, domid)
        })
        .and_then(|channels| chardev_args(&channels));
    match result {
        Ok(words) if words.is_empty() => 0,
        Ok(words) => {
            let quoted: Vec<Vec<u8>> = words.iter().map(|w| shell_word(w.as_bytes())).collect();
            let mut line = quoted.join(&b' ');
            line.push(b'\n');
            io.out(&line);
            0
        }
        Err(e) => {
            io.err_line(&format!("xlchannel dm-args: {e}"));
            1
        }
    }
}

fn run(io: &mut Io, args: &[OsString]) -> u8 {
    let Some(command) = args.first() else {
        io.err_line(
            "xlchannel: no COMMAND (config, add, list, dm-args or remove); see 'xlchannel --help'",
        );
        return EXIT_USAGE;
    };
    let rest = &args[1..];
    match command.as_bytes() {
        b"config" => config(io, rest),
        b"add" => add(io, rest),
        b"list" => list(io, rest),
        b"dm-args" => dm_args(io, rest),
        b"remove" => remove(io, rest),
        b"-h" | b"--help" | b"help" => {
            io.out(USAGE.as_bytes());
            0
        }
        b"--version" => {
            io.out(format!("xlchannel {}\n", env!("CARGO_PKG_VERSION")).as_bytes());
            0
        }
        _ => {
            io.err_line(&format!(
                "xlchannel: unknown command '{}'; see 'xlchannel --help'",
                command.to_string_lossy()
            ));
            EXIT_USAGE
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut io = Io {
        out: BufWriter::new(io::stdout().lock()),
    };
    let status = run(&mut io, &args);
    if let Err(e) = io.out.flush() {
        let _ = writeln!(io::stderr(), "xlchannel: writing to stdout: {e}");
        return ExitCode::from(1);
    }
    ExitCode::from(status)
}
