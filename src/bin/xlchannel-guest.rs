//! `xlchannel-guest`: run by udev inside a Xen guest when a PV console comes or goes; links
//! `/dev/xen-channel/<name>` to the console's `hvc<N>` for a channel, removes the link when
//! the console goes. A thin layer over `xlchannel::guest`; see `xlchannel-guest(8)`.

use std::ffi::{CString, OsString};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::process::ExitCode;

use xlchannel::guest::link::read_console_name;
use xlchannel::guest::{self, GuestError, Linked};
use xlchannel::xenstore::XenStore;

const EXIT_FAILURE: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_NAME_REFUSED: u8 = 3;

const USAGE: &str = "\
Usage: xlchannel-guest add|remove DEVPATH [--dev-dir DIR] [--syslog]

Inside a Xen guest, give each channel (a PV console with a name) a stable name in /dev:
  add     read the console's channel name from xenstore (device/console/<N>/name) and
          make DIR/xen-channel/<name> -> ../hvc<N>
  remove  remove the links DIR/xen-channel/* that point at ../hvc<N>
DEVPATH is the device's path as udev gives it, /devices/console-<N>. Console 0 (the
primary console) and consoles without a name are left alone.

Options:
  --dev-dir DIR  where the links go (DIR/xen-channel) and hvc<N> lives (default /dev)
  --syslog       also send messages to syslog (the udev rule uses this)
  --version      print the version

Exit status: 0 done (or nothing to do), 1 failure, 2 usage error or bad DEVPATH,
3 a channel name that is not a safe file name (refused, no link made).
";

/// Messages go to stderr, and with `--syslog` to syslog as well: udev keeps a RUN program's
/// stderr only in its debug log.
struct Log {
    syslog: bool,
}

impl Log {
    fn line(&self, priority: libc::c_int, message: &str) {
        let _ = writeln!(std::io::stderr(), "xlchannel-guest: {message}");
        if self.syslog {
            let text = CString::new(message.replace('\0', "\\0")).expect("NULs were replaced");
            // SAFETY: a constant format consuming exactly one C string.
            unsafe { libc::syslog(priority, c"%s".as_ptr(), text.as_ptr()) }
        }
    }
}

struct Request {
    add: bool,
    devpath: OsString,
    dev_dir: PathBuf,
    syslog: bool,
}

enum Parsed {
    Run(Request),
    Exit(u8),
}

fn usage_error(message: &str) -> Parsed {
    let _ = writeln!(
        std::io::stderr(),
        "xlchannel-guest: {message}; see 'xlchannel-guest --help'"
    );
    Parsed::Exit(EXIT_USAGE)
}

fn parse(args: Vec<OsString>) -> Parsed {
    let mut args = args.into_iter();
    let add = match args.next().as_ref().map(|a| a.as_bytes()) {
        Some(b"add") => true,
        Some(b"remove") => false,
        Some(b"-h" | b"--help") => {
            print!("{USAGE}");
            return Parsed::Exit(0);
        }
        Some(b"--version") => {
            println!("xlchannel-guest {}", env!("CARGO_PKG_VERSION"));
            return Parsed::Exit(0);
        }
        Some(other) => {
            return usage_error(&format!(
                "unknown command '{}' (add or remove)",
                other.escape_ascii()
            ))
        }
        None => return usage_error("no command (add or remove)"),
    };
    let mut devpath = None;
    let mut dev_dir = None;
    let mut syslog = false;
    while let Some(arg) = args.next() {
        let bytes = arg.as_bytes();
        if bytes == b"--syslog" {
            syslog = true;
        } else if bytes == b"--dev-dir" || bytes.starts_with(b"--dev-dir=") {
            let value = match bytes.strip_prefix(b"--dev-dir=") {
                Some(v) => OsString::from_vec(v.to_vec()),
                None => match args.next() {
                    Some(v) => v,
                    None => return usage_error("--dev-dir needs a DIR"),
                },
            };
            if value.is_empty() {
                return usage_error("--dev-dir needs a DIR");
            }
            dev_dir = Some(PathBuf::from(value));
        } else if bytes.starts_with(b"-") {
            return usage_error(&format!("unknown option '{}'", bytes.escape_ascii()));
        } else if devpath.is_some() {
            return usage_error("expects one DEVPATH");
        } else {
            devpath = Some(arg);
        }
    }
    let Some(devpath) = devpath else {
        return usage_error("expects a DEVPATH (/devices/console-<N>)");
    };
    Parsed::Run(Request {
        add,
        devpath,
        dev_dir: dev_dir.unwrap_or_else(|| PathBuf::from(guest::DEFAULT_DEV_DIR)),
        syslog,
    })
}

fn run(request: &Request, log: &Log) -> u8 {
    let console = match guest::console_from_devpath(request.devpath.as_bytes()) {
        Ok(console) => console,
        Err(e) => {
            log.line(libc::LOG_ERR, &e.to_string());
            return EXIT_USAGE;
        }
    };
    let result = if request.add {
        guest::link_console(&request.dev_dir, console, |console| {
            let store = XenStore::open()
                .map_err(|e| GuestError::Store(format!("console {console}: {e}")))?;
            read_console_name(&store, console)
        })
        .map(|linked| {
            if let Linked::ReplacedStale { link, old_target } = linked {
                log.line(
                    libc::LOG_NOTICE,
                    &format!(
                        "console {console}: {} pointed at {}, which is gone; it now points at {}",
                        link.display(),
                        old_target.display(),
                        guest::link_target(console)
                    ),
                );
            }
        })
    } else {
        guest::unlink_console(&request.dev_dir, console).map(drop)
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            log.line(libc::LOG_ERR, &e.to_string());
            match e {
                GuestError::UnsafeName(_) => EXIT_NAME_REFUSED,
                _ => EXIT_FAILURE,
            }
        }
    }
}

fn main() -> ExitCode {
    let request = match parse(std::env::args_os().skip(1).collect()) {
        Parsed::Run(request) => request,
        Parsed::Exit(status) => return ExitCode::from(status),
    };
    let log = Log {
        syslog: request.syslog,
    };
    if log.syslog {
        // SAFETY: the identity is a static C string, as openlog requires.
        unsafe { libc::openlog(c"xlchannel-guest".as_ptr(), libc::LOG_PID, libc::LOG_DAEMON) }
    }
    ExitCode::from(run(&request, &log))
}
