//! xlchannel's own transactions over xenstored's socket (`src/xenstore/wire.rs`), seen
//! through a relay between `xlchannel add` and the test bed's real xenstored. The relay
//! records every request with what the client had been answered when it sent it, and can
//! stall a connection or cut it at a chosen request.
//!
//! Runs inside the test bed (`make check`, or `testbed/with-xenstored.sh cargo test --release
//! --test xenstore_wire`). The channels are served by a driver domain, so no device model
//! is involved. Tests run in parallel, so each uses its own domids.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::{register, store};
use xlchannel::xenstore::XenStore;

const XS_READ: u32 = 2;
const XS_TRANSACTION_START: u32 = 6;
const XS_TRANSACTION_END: u32 = 7;
const XS_WRITE: u32 = 11;
const XS_DIRECTORY: u32 = 1;
const XS_ERROR: u32 = 16;
const XS_DIRECTORY_PART: u32 = 22;

/// One request as the relay saw it.
#[derive(Debug, Clone)]
struct Seen {
    connection: usize,
    kind: u32,
    payload: Vec<u8>,
    /// Requests this connection had sent before this one, and answers it had been given.
    sent_before: usize,
    answered_before: usize,
}

/// What the relay does at the `nth` request of type `kind` (counted over all connections).
#[derive(Clone, Copy)]
enum Trap {
    None,
    /// Pass nothing more on this connection either way, leaving it open (what the client
    /// sends is still recorded).
    Stall {
        kind: u32,
        nth: usize,
    },
    /// Close this connection (both ways) instead of passing the request on.
    Cut {
        kind: u32,
        nth: usize,
    },
    /// Answer the request with `EACCES` in its turn, as if the daemon refused it; the
    /// daemon gets a read of a missing node in its place (which changes nothing).
    Refuse {
        kind: u32,
        nth: usize,
    },
}

impl Trap {
    fn kind_and_nth(self) -> Option<(u32, usize)> {
        match self {
            Trap::None => None,
            Trap::Stall { kind, nth } | Trap::Cut { kind, nth } | Trap::Refuse { kind, nth } => {
                Some((kind, nth))
            }
        }
    }
}

struct Relay {
    path: PathBuf,
    dir: PathBuf,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    /// The client side of every connection made so far.
    live: Arc<Mutex<Vec<UnixStream>>>,
}

fn read_message(from: &mut UnixStream) -> Option<Vec<u8>> {
    let mut header = [0u8; 16];
    from.read_exact(&mut header).ok()?;
    let len = u32::from_ne_bytes(header[12..16].try_into().unwrap()) as usize;
    let mut message = header.to_vec();
    message.resize(16 + len, 0);
    from.read_exact(&mut message[16..]).ok()?;
    Some(message)
}

fn word(message: &[u8], i: usize) -> u32 {
    u32::from_ne_bytes(message[4 * i..4 * i + 4].try_into().unwrap())
}

/// A message with the header words `kind`, `req`, `tx` and `payload`.
fn message(kind: u32, req: u32, tx: u32, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    for w in [kind, req, tx, payload.len() as u32] {
        m.extend_from_slice(&w.to_ne_bytes());
    }
    m.extend_from_slice(payload);
    m
}

/// One client connection: requests pass to the daemon (recorded, and trapped), answers back.
fn relay_connection(
    connection: usize,
    client: UnixStream,
    upstream: UnixStream,
    trap: Trap,
    matched: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
) {
    let answered = Arc::new(AtomicUsize::new(0));
    // Request ids whose answers are replaced by EACCES.
    let refused = Arc::new(Mutex::new(Vec::<u32>::new()));
    let (mut back_from, mut back_to) = (upstream.try_clone().unwrap(), client.try_clone().unwrap());
    let (answered_b, refused_b) = (answered.clone(), refused.clone());
    std::thread::spawn(move || {
        while let Some(mut m) = read_message(&mut back_from) {
            let (req, tx) = (word(&m, 1), word(&m, 2));
            if refused_b.lock().unwrap().contains(&req) {
                m = message(XS_ERROR, req, tx, b"EACCES\0");
            }
            // Counted before it is passed on: the client cannot have it earlier.
            answered_b.fetch_add(1, Ordering::SeqCst);
            if back_to.write_all(&m).is_err() {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        let (mut from, mut to) = (client, upstream);
        let mut sent = 0;
        let mut stalled = false;
        while let Some(m) = read_message(&mut from) {
            let kind = word(&m, 0);
            seen.lock().unwrap().push(Seen {
                connection,
                kind,
                payload: m[16..].to_vec(),
                sent_before: sent,
                answered_before: answered.load(Ordering::SeqCst),
            });
            sent += 1;
            if stalled {
                continue;
            }
            let hit = trap.kind_and_nth().is_some_and(|(k, nth)| {
                k == kind && matched.fetch_add(1, Ordering::SeqCst) + 1 == nth
            });
            let forward = match trap {
                _ if !hit => m,
                Trap::Stall { .. } => {
                    stalled = true;
                    continue;
                }
                Trap::Cut { .. } => {
                    let _ = from.shutdown(std::net::Shutdown::Both);
                    let _ = to.shutdown(std::net::Shutdown::Both);
                    return;
                }
                Trap::None => unreachable!("Trap::None matches nothing"),
                Trap::Refuse { .. } => {
                    refused.lock().unwrap().push(word(&m, 1));
                    message(
                        XS_READ,
                        word(&m, 1),
                        word(&m, 2),
                        b"/xlchannel-relay-missing\0",
                    )
                }
            };
            if to.write_all(&forward).is_err() {
                break;
            }
        }
        // A stalled connection stays open, silent, until the relay ends.
        while stalled && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}

impl Relay {
    fn start(tag: &str, trap: Trap) -> Relay {
        let daemon =
            PathBuf::from(std::env::var_os("XENSTORED_PATH").expect("run inside the test bed"));
        let dir = std::env::temp_dir().join(format!("xlchannel-wire-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("relay.sock");
        let listener = UnixListener::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let live = Arc::new(Mutex::new(Vec::new()));
        let matched = Arc::new(AtomicUsize::new(0));
        let (seen_l, stop_l, live_l) = (seen.clone(), stop.clone(), live.clone());
        std::thread::spawn(move || {
            let mut connection = 0;
            while !stop_l.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                connection += 1;
                live_l.lock().unwrap().push(client.try_clone().unwrap());
                let upstream = UnixStream::connect(&daemon).unwrap();
                relay_connection(
                    connection,
                    client,
                    upstream,
                    trap,
                    matched.clone(),
                    seen_l.clone(),
                    stop_l.clone(),
                );
            }
        });
        Relay {
            path,
            dir,
            seen,
            stop,
            live,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Close every connection made so far, as a daemon that restarted would have.
    fn cut_all(&self) {
        for c in self.live.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn xlchannel(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_xlchannel"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("running xlchannel");
    Run {
        status: out.status.code().expect("exited"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every node below `path` with its value and permissions, paths relative to `path`.
fn subtree(xs: &XenStore, path: &str) -> BTreeMap<String, (Vec<u8>, String)> {
    let t = xs.plain().unwrap();
    let mut out = BTreeMap::new();
    let mut todo = vec![String::new()];
    while let Some(rel) = todo.pop() {
        let at = format!("{path}{rel}");
        let Some(value) = t.read(&at).unwrap() else {
            continue;
        };
        let perms = format!("{:?}", t.get_perms(&at).unwrap());
        for child in t.directory(&at).unwrap().unwrap_or_default() {
            todo.push(format!("{rel}/{child}"));
        }
        out.insert(rel, (value, perms));
    }
    out
}

/// The nodes of one domain's channels: its frontends, the driver domain's backends, libxl's copy.
fn channel_nodes(
    xs: &XenStore,
    domid: u32,
    driver: u32,
) -> Vec<BTreeMap<String, (Vec<u8>, String)>> {
    vec![
        subtree(xs, &format!("/local/domain/{domid}/device/console")),
        subtree(
            xs,
            &format!("/local/domain/{driver}/backend/console/{domid}"),
        ),
        subtree(xs, &format!("/libxl/{domid}")),
    ]
}

fn assert_nothing_written(xs: &XenStore, domid: u32, driver: u32) {
    for tree in channel_nodes(xs, domid, driver) {
        assert!(tree.is_empty(), "{tree:?}");
    }
}

fn specs(driver: &str) -> Vec<String> {
    vec![
        format!("backend={driver},connection=pty,name=org.wire.one"),
        format!("backend={driver},connection=socket,name=org.wire.two,path=/run/wire-two.sock"),
        format!("backend={driver},connection=pty,name=org.wire.three"),
    ]
}

fn add(relay: &Relay, domid: u32, specs: &[String], env: &[(&str, &str)]) -> Run {
    let mut args = vec!["add".to_owned(), domid.to_string()];
    args.extend(specs.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut env = env.to_vec();
    env.push(("XENSTORED_PATH", relay.path.to_str().unwrap()));
    xlchannel(&args, &env)
}

/// The requests of a run with the domid spelled D, for comparing two domains' runs.
fn normalized(seen: &[Seen], domid: u32) -> Vec<(u32, String)> {
    seen.iter()
        .map(|s| {
            let text = String::from_utf8_lossy(&s.payload).replace(&domid.to_string(), "D");
            (s.kind, text)
        })
        .collect()
}

/// The requests of a run as comparable across the two ways: outside transactions in order;
/// inside each, its writes in order and then its reads, sorted (reads ahead go first).
fn comparable(seen: &[Seen], domid: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut reads = Vec::new();
    let mut inside = false;
    for request in normalized(seen, domid) {
        match request.0 {
            XS_TRANSACTION_START => inside = true,
            XS_READ | XS_DIRECTORY if inside => {
                reads.push(request);
                continue;
            }
            XS_TRANSACTION_END => {
                reads.sort();
                out.append(&mut reads);
                inside = false;
            }
            _ => {}
        }
        out.push(request);
    }
    out
}

/// With pipelining, the add sends exactly the requests it sends through libxenstore alone,
/// and writes the same nodes with the same permissions; but on its own connection, a
/// transaction's writes go out without waiting for answers, while every request whose answer
/// is needed (reads, transaction starts and ends) waits for all earlier answers.
#[test]
fn pipelined_adds_send_the_requests_libxenstore_sends_without_waiting_for_writes() {
    let xs = store();
    register(&xs, 81, "wire-driver");
    register(&xs, 82, "wire-pipelined");
    register(&xs, 83, "wire-libxenstore");
    let specs = specs("wire-driver");

    let relay = Relay::start("same", Trap::None);
    let piped = add(&relay, 82, &specs, &[]);
    assert_eq!(
        (piped.status, piped.stdout.as_str(), piped.stderr.as_str()),
        (0, "1\n2\n3\n", "")
    );
    let seen_piped = relay.seen();
    drop(relay);
    let relay = Relay::start("unpiped", Trap::None);
    let unpiped = add(&relay, 83, &specs, &[("XLCHANNEL_XS_PIPELINE", "0")]);
    assert_eq!(
        (
            unpiped.status,
            unpiped.stdout.as_str(),
            unpiped.stderr.as_str()
        ),
        (0, "1\n2\n3\n", "")
    );
    let seen_unpiped = relay.seen();
    drop(relay);

    assert_eq!(comparable(&seen_piped, 82), comparable(&seen_unpiped, 83));
    // One transaction per channel writes (the command's first two only read).
    let mut writing = 0;
    let mut wrote = false;
    for s in &seen_piped {
        match s.kind {
            XS_WRITE => wrote = true,
            XS_TRANSACTION_END => writing += std::mem::take(&mut wrote) as usize,
            _ => {}
        }
    }
    assert_eq!(writing, 3, "one transaction per channel");
    let nodes = |d| {
        channel_nodes(&xs, d, 81)
            .into_iter()
            .map(|tree| {
                tree.into_iter()
                    .map(|(k, (v, p))| {
                        (
                            k,
                            String::from_utf8_lossy(&v).replace(&d.to_string(), "D"),
                            p.replace(&d.to_string(), "D"),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    let written = nodes(82);
    assert!(
        written[0].len() > 20 && written[1].len() > 20,
        "{written:?}"
    );
    assert_eq!(written, nodes(83));

    // Through libxenstore alone, each request waits for the answer to the one before.
    for s in &seen_unpiped {
        assert_eq!(s.answered_before, s.sent_before, "{s:?}");
    }
    // Pipelined: the transactions' connection has many writes unanswered at once.
    let wire = seen_piped
        .iter()
        .find(|s| s.kind == XS_TRANSACTION_START)
        .unwrap()
        .connection;
    let on_wire: Vec<&Seen> = seen_piped.iter().filter(|s| s.connection == wire).collect();
    let most_unanswered = on_wire
        .iter()
        .map(|s| s.sent_before - s.answered_before)
        .max()
        .unwrap();
    assert!(
        most_unanswered >= 20,
        "at most {most_unanswered} requests were unanswered"
    );
    for (i, s) in on_wire.iter().enumerate() {
        if ![
            XS_READ,
            XS_DIRECTORY,
            XS_TRANSACTION_START,
            XS_TRANSACTION_END,
        ]
        .contains(&s.kind)
        {
            continue;
        }
        // Reads sent together (read ahead at a transaction's start) wait together.
        let read_ahead = s.kind == XS_READ
            && i > 0
            && on_wire[i - 1].kind == XS_READ
            && on_wire[i - 1].answered_before == s.answered_before;
        if !read_ahead {
            assert_eq!(s.answered_before, s.sent_before, "{s:?}");
        }
    }
    // Nothing else used the transactions' connection, and the other connection had no transaction.
    assert!(seen_piped
        .iter()
        .filter(|s| s.connection != wire)
        .all(|s| s.kind != XS_WRITE && s.kind != XS_TRANSACTION_START));
}

/// FNV-1a 64 of a channel name, as the name index keys it (`/libxl/D/channel-names/hh/rest`).
fn index_entry(domid: u32, name: &str) -> String {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let key = format!("{hash:016x}");
    format!("/libxl/{domid}/channel-names/{}/{}", &key[..2], &key[2..])
}

/// A daemon that stops answering in the middle of a transaction's writes: the add fails
/// with the timeout (`XLCHANNEL_XS_TIMEOUT`), naming the request it waited for, and nothing
/// is written, since the transaction never ends.
#[test]
fn a_daemon_silent_inside_a_transaction_times_out_and_nothing_is_written() {
    let xs = store();
    register(&xs, 84, "wire-stall-driver");
    register(&xs, 85, "wire-stall");
    let relay = Relay::start(
        "stall",
        Trap::Stall {
            kind: XS_WRITE,
            nth: 1,
        },
    );
    let begun = Instant::now();
    let run = add(
        &relay,
        85,
        &specs("wire-stall-driver")[..1],
        &[("XLCHANNEL_XS_TIMEOUT", "0.5")],
    );
    assert!(
        begun.elapsed() < Duration::from_secs(30),
        "the add returned"
    );
    assert_eq!(run.status, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "xlchannel add: xenstore write /libxl/85/channel-names: xenstored did not answer within 0.5 s \
         (stopped or hung?); XLCHANNEL_XS_TIMEOUT sets the limit\n"
    );
    // The client sent all the transaction's writes at once and gave up on it without
    // ending it (the daemon drops it with the connection).
    let seen = relay.seen();
    drop(relay);
    let stalled = seen.iter().find(|s| s.kind == XS_WRITE).unwrap().connection;
    let after: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.connection == stalled)
        .skip_while(|s| s.kind != XS_WRITE)
        .collect();
    assert!(after.len() > 20, "{after:?}");
    assert!(
        after.iter().all(|s| s.kind != XS_TRANSACTION_END),
        "{after:?}"
    );
    assert_nothing_written(&xs, 85, 84);
}

/// A write the daemon refuses in the middle of a pipelined transaction: the transaction is
/// ended without committing (`F`), the add fails naming that write, and nothing is left.
#[test]
fn a_refused_write_aborts_its_transaction() {
    let xs = store();
    register(&xs, 90, "wire-refuse-driver");
    register(&xs, 91, "wire-refuse");
    // The first channel's third write: after the index's root and entry, libxl's copy's
    // `frontend`.
    let relay = Relay::start(
        "refuse",
        Trap::Refuse {
            kind: XS_WRITE,
            nth: 3,
        },
    );
    let run = add(&relay, 91, &specs("wire-refuse-driver")[..2], &[]);
    assert_eq!(run.status, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "xlchannel add: xenstore write /libxl/91/device/console/1/frontend: Permission denied \
         (os error 13)\n"
    );
    let seen = relay.seen();
    drop(relay);
    let wire = seen.iter().find(|s| s.kind == XS_WRITE).unwrap().connection;
    let ends: Vec<&[u8]> = seen
        .iter()
        .filter(|s| s.connection == wire && s.kind == XS_TRANSACTION_END)
        .map(|s| s.payload.as_slice())
        .collect();
    // The command's two reading transactions, then the channel's, ended without commit;
    // the second channel was never tried.
    assert_eq!(ends, [&b"T\0"[..], b"T\0", b"F\0"]);
    assert_nothing_written(&xs, 91, 90);
}

/// More consoles than one `XS_DIRECTORY` answer can name (4096 bytes: about 1040): read in
/// parts on the pipelined connection, as libxenstore reads them.
#[test]
fn directories_longer_than_one_answer_are_read_in_parts() {
    let xs = store();
    register(&xs, 92, "wire-big-driver");
    register(&xs, 93, "wire-big");
    let specs: Vec<String> = (0..1100)
        .map(|i| format!("backend=wire-big-driver,connection=pty,name=org.wire.big.{i}"))
        .collect();
    let relay = Relay::start("big", Trap::None);
    let added = add(&relay, 93, &specs, &[]);
    assert_eq!(added.status, 0, "{}", added.stderr);
    assert_eq!(added.stdout.lines().count(), 1100);
    let listed = |env: &[(&str, &str)]| {
        let mut env = env.to_vec();
        env.push(("XENSTORED_PATH", relay.path.to_str().unwrap()));
        xlchannel(&["list", "--json", "93"], &env)
    };
    let before = relay.seen().len();
    let piped = listed(&[]);
    let during = relay.seen()[before..].to_vec();
    let unpiped = listed(&[("XLCHANNEL_XS_PIPELINE", "0")]);
    assert_eq!((piped.status, piped.stderr.as_str()), (0, ""));
    assert_eq!(piped.stdout, unpiped.stdout);
    assert_eq!(piped.stdout.matches("org.wire.big.").count(), 1100);
    // The piped list's own transaction read the console directory in parts: its first
    // DIRECTORY was refused as too long, then two parts.
    let wire = during
        .iter()
        .find(|s| s.kind == XS_TRANSACTION_START)
        .unwrap()
        .connection;
    let directory_reads: Vec<(u32, Vec<u8>)> = during
        .iter()
        .filter(|s| s.connection == wire && [XS_DIRECTORY, XS_DIRECTORY_PART].contains(&s.kind))
        .filter(|s| s.payload.starts_with(b"/libxl/93/device/console\0"))
        .map(|s| (s.kind, s.payload.clone()))
        .collect();
    let dir = b"/libxl/93/device/console\0";
    assert_eq!(directory_reads[0], (XS_DIRECTORY, dir.to_vec()));
    let offsets: Vec<usize> = directory_reads[1..]
        .iter()
        .map(|(kind, payload)| {
            assert_eq!(*kind, XS_DIRECTORY_PART);
            assert!(payload.starts_with(dir), "{payload:?}");
            let offset = &payload[dir.len()..payload.len() - 1];
            std::str::from_utf8(offset).unwrap().parse().unwrap()
        })
        .collect();
    // From the start, then on from where each part ended (names 1..1100: 4393 bytes).
    assert_eq!(offsets.len(), 2, "{offsets:?}");
    assert_eq!(offsets[0], 0);
    assert!(offsets[1] > 3000 && offsets[1] < 4096, "{offsets:?}");
}

/// An idle pipelined connection the daemon closed (a restart) is replaced before the next
/// transaction, which succeeds. The store lives in a child process of this test (the
/// relay's path must be its `XENSTORED_PATH`, which a thread of this process cannot set).
#[test]
fn an_idle_connection_the_daemon_closed_is_replaced() {
    if std::env::var_os("XLCHANNEL_WIRE_IDLE_CHILD").is_some() {
        return idle_connection_child();
    }
    let relay = Relay::start("idle", Trap::None);
    let mut child = child_half(
        "an_idle_connection_the_daemon_closed_is_replaced",
        "XLCHANNEL_WIRE_IDLE_CHILD",
        &relay,
    );
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("first written") {
        line.clear();
        let n = std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert!(n > 0, "the child ended early");
    }
    relay.cut_all();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    assert!(rest.contains("second written"), "{rest}");
    let xs = store();
    let t = xs.plain().unwrap();
    assert_eq!(
        t.read("/tool/xlchannel-wire-idle/second")
            .unwrap()
            .as_deref(),
        Some(&b"2"[..])
    );
    // libxenstore's connection sent nothing; the transactions went over two.
    let connections: std::collections::BTreeSet<usize> = relay
        .seen()
        .iter()
        .filter(|s| s.kind == XS_TRANSACTION_START)
        .map(|s| s.connection)
        .collect();
    assert_eq!(
        connections.len(),
        2,
        "the closed connection and its replacement"
    );
}

/// This test binary again, running only `test` with `marker` set, talking through `relay`.
fn child_half(test: &str, marker: &str, relay: &Relay) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(marker, "1")
        .env("XENSTORED_PATH", &relay.path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// A transaction whose work goes on past a refused write (here: ignores it) still ends
/// without committing, and fails with that write's error.
#[test]
fn a_refused_write_the_work_ignored_still_aborts() {
    if std::env::var_os("XLCHANNEL_WIRE_IGNORE_CHILD").is_some() {
        let xs = store();
        let result = xs.transaction(|t| {
            t.write("/tool/xlchannel-wire-ignore/a", b"1")?;
            t.write("/tool/xlchannel-wire-ignore/b", b"2")?;
            // The refusal of b comes with this read's answers; the work ignores it.
            let _ = t.read("/tool/xlchannel-wire-ignore/a");
            Ok(())
        });
        println!("result: {result:?}");
        return;
    }
    let relay = Relay::start(
        "ignore",
        Trap::Refuse {
            kind: XS_WRITE,
            nth: 2,
        },
    );
    let child = child_half(
        "a_refused_write_the_work_ignored_still_aborts",
        "XLCHANNEL_WIRE_IGNORE_CHILD",
        &relay,
    );
    let out = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.contains(
            "result: Err(Fail(\"xenstore write /tool/xlchannel-wire-ignore/b: Permission denied (os error 13)\"))"
        ),
        "{out}"
    );
    let ends: Vec<Vec<u8>> = relay
        .seen()
        .iter()
        .filter(|s| s.kind == XS_TRANSACTION_END)
        .map(|s| s.payload.clone())
        .collect();
    assert_eq!(ends, [b"F\0".to_vec()]);
    let xs = store();
    let t = xs.plain().unwrap();
    assert_eq!(t.read("/tool/xlchannel-wire-ignore/a").unwrap(), None);
}

/// The child half of the idle-connection test.
fn idle_connection_child() {
    let xs = store();
    xs.transaction(|t| t.write("/tool/xlchannel-wire-idle/first", b"1"))
        .unwrap();
    println!("first written");
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    xs.transaction(|t| t.write("/tool/xlchannel-wire-idle/second", b"2"))
        .unwrap();
    println!("second written");
}

/// The connection cut in the middle of the second channel's transaction: the add fails
/// naming the lost connection, and the first channel, already committed, is removed again
/// over a new connection, name index entry and all.
#[test]
fn a_connection_cut_inside_the_second_transaction_leaves_nothing() {
    let xs = store();
    register(&xs, 86, "wire-cut-driver");
    register(&xs, 87, "wire-cut");
    // The first transaction writes the index's root, its entry and the nodes; the second
    // begins with its index entry: cut there.
    let specs = specs("wire-cut-driver");
    let first_writes = {
        // How many writes the first channel's transaction sends: counted on a run elsewhere.
        let relay = Relay::start("count", Trap::None);
        register(&xs, 88, "wire-count");
        let run = add(&relay, 88, &specs[..1], &[]);
        assert_eq!(run.status, 0, "{}", run.stderr);
        relay.seen().iter().filter(|s| s.kind == XS_WRITE).count()
    };
    let relay = Relay::start(
        "cut",
        Trap::Cut {
            kind: XS_WRITE,
            nth: first_writes + 1,
        },
    );
    let run = add(&relay, 87, &specs[..2], &[]);
    assert_eq!(run.status, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "xlchannel add: xenstore write {}: Connection reset by peer (os error 104) \
             (the connection to xenstored is lost: the daemon went away)\n",
            index_entry(87, "org.wire.two")
        )
    );
    let connections = relay.seen().iter().map(|s| s.connection).max().unwrap();
    assert_eq!(
        connections, 3,
        "libxenstore's, the cut one, and the one that removed the first channel"
    );
    drop(relay);
    // Only the (empty) directories the consoles were made in are left, as after any removal.
    let left = channel_nodes(&xs, 87, 86);
    for tree in &left[..2] {
        assert_eq!(tree.keys().collect::<Vec<_>>(), [""], "{left:?}");
    }
    let t = xs.plain().unwrap();
    assert_eq!(t.read(&index_entry(87, "org.wire.one")).unwrap(), None);
    assert_eq!(
        t.directory("/libxl/87/device/console")
            .unwrap()
            .unwrap_or_default(),
        Vec::<String>::new()
    );
}
