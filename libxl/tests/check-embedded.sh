#!/usr/bin/env bash
# check-embedded.sh  --  the proofs that target/libxl/lib/libxenlight.so.4.17.0 (make libxl) is
# Debian's libxenlight 4.17 with its channels in xlchannel: its ABI, Debian's unchanged xl on
# it, libxl's own IDL test, the differential case tables, and the inside-libxl test of the
# create-time channel code. Runs inside testbed/with-xenstored.sh; prints
# "libxl-embedded: N passed, M failed".
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
rebuilt=$root/target/libxl/lib
build=$root/c-tests/build
debian=$(ldconfig -p | sed -n 's/^\tlibxenlight.so.4.17 (libc6,x86-64) => //p' | head -n1)
export XLCHANNEL_LIBXL_REBUILT=$rebuilt
work=$(mktemp -d)
qemu_pid=
cleanup() {
    stop_qemu
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# The device model of the xl command tests below: TERM, then KILL, each wait bounded.
stop_qemu() {
    [ -n "$qemu_pid" ] || return 0
    kill "$qemu_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$qemu_pid" 2>/dev/null
    wait "$qemu_pid" 2>/dev/null
    qemu_pid=
}
passed=0 failed=0

check() { # NAME CMD...: CMD's status decides; its output is shown only on failure
    local name=$1; shift
    if "$@" >"$work/out" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: $name"; sed 's/^/    /' "$work/out" | head -40
    fi
}
on_rebuilt() { LD_LIBRARY_PATH=$rebuilt${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$@"; }

# --- ABI ---------------------------------------------------------------------------------
syms() { nm -D --defined-only --with-symbol-versions "$1" | awk '{print $2, $3}' | LC_ALL=C sort; }
abi_symbols() {
    { syms "$debian"
      echo "T libxl_device_channel_add@@VERS_4.17.0"
      echo "T libxl_device_channel_list_free@@VERS_4.17.0"
      echo "T libxl_device_channel_remove@@VERS_4.17.0"
      echo "T libxl_device_channel_destroy@@VERS_4.17.0"; } | LC_ALL=C sort >"$work/expected"
    syms "$rebuilt/libxenlight.so.4.17.0" >"$work/actual"
    diff -u "$work/expected" "$work/actual"
}
check "dynamic symbols: Debian's, with the same versions, plus the four additions" abi_symbols
soname() { readelf -d "$1" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p'; }
check "soname libxenlight.so.4.17" test "$(soname "$rebuilt/libxenlight.so.4.17.0")" = libxenlight.so.4.17
check "no xlchannel or Rust symbol exported" \
    sh -c "! nm -D --defined-only '$rebuilt/libxenlight.so.4.17.0' | grep -E ' (xlchannel_|_ZN|_R[A-Z]|rust_|__rust)'"

# --- Xen's own IDL test (gentest.py): passes on both, and prints the same ------------------
check "testidl on Debian's libxenlight" sh -c "'$root/target/libxl/bin/testidl' >'$work/testidl.debian'"
check "testidl on the rebuilt libxenlight" \
    sh -c "LD_LIBRARY_PATH='$rebuilt' '$root/target/libxl/bin/testidl' >'$work/testidl.rebuilt'"
check "testidl prints the same on both" cmp "$work/testidl.debian" "$work/testidl.rebuilt"
check "testidl is clean under valgrind on the rebuilt libxenlight" \
    on_rebuilt valgrind -q --error-exitcode=9 "$root/target/libxl/bin/testidl"

# --- The case tables of c-tests/compare, built against Debian's libxl.h ----------------------
# Run once on Debian's library and once on the rebuilt one: the same, except that where libxl
# 4.17 aborts the rebuilt library must give xlchannel's result (the calls reach Rust).
wrap() { printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s\n' "$rebuilt" "$1" >"$2"; chmod +x "$2"; }
wrap "$build/behaviour_real" "$work/behaviour_rebuilt"
check "compare-json: Debian's vs rebuilt" \
    env REQUIRE_DIVERGENCES=1 "$root/c-tests/compare/compare.sh" compare-json-rebuilt \
        "$build/behaviour_real" "$work/behaviour_rebuilt"
"$build/channels_setup" >/dev/null || { echo "channels_setup failed"; exit 1; }
wrap "$build/channels_read_real" "$work/channels_rebuilt"
check "compare-channels: Debian's vs rebuilt" \
    env REQUIRE_DIVERGENCES=1 "$root/c-tests/compare/compare.sh" compare-channels-rebuilt \
        "$build/channels_read_real" "$work/channels_rebuilt"

# --- Debian's unchanged xl on the rebuilt library -----------------------------------------
xl_both() { # ARGS...: xl's stdout and status, and its stderr's shape, on Debian's library and
           # on the rebuilt one
    LD_PRELOAD=$XLCHANNEL_XENSHIM "$XLCHANNEL_XL" "$@" >"$work/xl.d.out" 2>"$work/xl.d.err"
    echo "status $?" >>"$work/xl.d.out"
    LD_PRELOAD=$XLCHANNEL_XENSHIM LD_LIBRARY_PATH=$rebuilt "$XLCHANNEL_XL" "$@" \
        >"$work/xl.r.out" 2>"$work/xl.r.err"
    echo "status $?" >>"$work/xl.r.out"
    diff -u "$work/xl.d.out" "$work/xl.r.out" && same_messages "$work/xl.d.err" "$work/xl.r.err"
}
# xl's own messages must be the same. libxl's log lines name where they come from (libxl's C
# file, or xlchannel's function) and xlchannel may add a line naming the cause: every line
# Debian's library logs must be logged on the rebuilt one too, at the same level, in order,
# with the same text after its location (or, where libxl words the same error differently,
# at least at the same level).
same_messages() {
    python3 - "$1" "$2" <<'PY'
import re, sys
def split(path):
    own, logged = [], []
    for line in open(path, errors="replace").read().splitlines():
        m = re.match(r"libxl: (\w+): [^ ]*?:\d+:[^:]*: (.*)", line)
        if m: logged.append((m.group(1), m.group(2)))
        else: own.append(line)
    return own, logged
d_own, d_log = split(sys.argv[1])
r_own, r_log = split(sys.argv[2])
if d_own != r_own:
    sys.exit("xl's own messages differ: %r vs %r" % (d_own, r_own))
rest = iter(r_log)
for level, text in d_log:
    for r_level, r_text in rest:
        if r_level == level:
            break
    else:
        sys.exit("Debian's %s line %r has no counterpart in %r" % (level, text, r_log))
PY
}
# Each domain of the compare suite (domain 39, where xl itself crashes, is one of the
# divergences: checked by the case table above).
for d in $(xenstore-list /libxl | sort -n); do
    [ "$d" = 39 ] && continue
    check "xl channel-list $d" xl_both channel-list "$d"
done
check "xl channel-list of several domains" xl_both channel-list 30 31 32 35 36
check "xl channel-list of a domain name" xl_both channel-list driver-dom
check "xl channel-list of an unknown domain" xl_both channel-list 4242
check "xl channel-list without a domain" xl_both channel-list
# xl -N create: the whole xl config compatibility suite (27 cases, 600 random configs) also
# runs xl on the rebuilt library and requires the same output.
check "xl -N create over tests/xl_config_compat.rs" \
    env XLCHANNEL_REBUILT_LIBXL="$rebuilt" "${CARGO:-cargo}" test --quiet --release --locked \
        --test xl_config_compat

# --- The delegation refuses a source it no longer fits, with one line naming the place -------
moved_source() { # FILE ANCHOR-TEXT REPLACEMENT EXPECTED-MESSAGE
    local tree=$work/moved
    rm -rf "$tree"; mkdir -p "$tree/tools/libs/light"
    cp "$root/.deps/libxl/xen-src/tools/libs/light/"{libxl_console.c,libxl_create.c,libxl_dm.c,libxl_internal.h} \
        "$tree/tools/libs/light/"
    sed -i "s/$2/$3/" "$tree/tools/libs/light/$1"
    local msg status=0
    msg=$("$root/libxl/delegate-channels.py" "$tree" 2>&1) || status=$?
    [ "$status" -eq 1 ] && [ "$msg" = "$4" ] || { echo "status $status: $msg"; return 1; }
}
check "delegation: a channel function renamed upstream" moved_source libxl_console.c \
    '^int libxl_device_channel_getinfo(' 'int libxl_device_channel_info(' \
    "make libxl: delegating libxl's channel code failed: libxl_console.c: definition of libxl_device_channel_getinfo missing"
check "delegation: a channel loop rewritten upstream" moved_source libxl_create.c \
    'for (i = 0; i < d_config->num_channels; i++) {' 'for (int j = 0; j < d_config->num_channels; j++) {' \
    "make libxl: delegating libxl's channel code failed: libxl_create.c: anchor 'for (i = 0; i < d_config->num_channels; i++) {' missing"

# --- The patched xl (patch 0003): channel-attach and channel-detach --------------------------
# target/libxl/bin/xl, over the rebuilt library, with a real qemu as the domain's device
# model (QMP at $XLCHANNEL_RUN_DIR/qmp-libxl-<domid>, as libxl's) and a second QMP socket
# for the test's own questions (a QMP socket serves one client at a time).
patched=$root/target/libxl/bin/xl
run=$work/run
mkdir -p "$run"
D=60
xl_notice='^Failed to read config file: /etc/xen/xl.conf: No such file or directory$'
xl_run() { # XL ARGS...: status, stdout and stderr into $work/xl.{status,out,err}; libxl's log
           # lines without their source location, xl's notice of a missing xl.conf dropped
    local xl=$1; shift
    LD_PRELOAD=$XLCHANNEL_XENSHIM LD_LIBRARY_PATH=$rebuilt XLCHANNEL_RUN_DIR=$run \
        XLCHANNEL_SHIM_DOMAINS="0 $D" "$xl" "$@" >"$work/xl.out" 2>"$work/xl.raw"
    echo $? >"$work/xl.status"
    sed -E -e "\#$xl_notice#d" -e 's/^libxl: ([a-z]+): [^ ]*:[0-9]+:([^:]*): /libxl: \1: \2: /' \
        "$work/xl.raw" >"$work/xl.err"
}
xl_expect() { # STATUS STDOUT STDERR XL ARGS...: exactly this status, stdout and stderr
    local want_status=$1 rc=0; shift
    printf '%s' "$1" >"$work/want.out"; printf '%s' "$2" >"$work/want.err"; shift 2
    xl_run "$@"
    [ "$(cat "$work/xl.status")" = "$want_status" ] ||
        { echo "status $(cat "$work/xl.status"), expected $want_status"; rc=1; }
    diff -u "$work/want.out" "$work/xl.out" || rc=1
    diff -u "$work/want.err" "$work/xl.err" || rc=1
    return $rc
}
qmp_session() { # [COMMAND-JSON...]: run each on the test's QMP socket (an error reply fails),
                # then print qemu's chardevs, "label filename" a line; every wait bounded
    python3 - "$run/test-qmp" "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
f = s.makefile("rw")
def execute(command):
    f.write(json.dumps(command) + "\n")
    f.flush()
    while True:
        line = f.readline()
        if not line:
            sys.exit("qmp: qemu closed the connection")
        msg = json.loads(line)
        if "error" in msg:
            sys.exit("qmp: %s -> %s" % (json.dumps(command), line.strip()))
        if "return" in msg:
            return msg["return"]
json.loads(f.readline())  # the greeting
execute({"execute": "qmp_capabilities"})
for command in sys.argv[2:]:
    execute(json.loads(command))
for c in sorted(execute({"execute": "query-chardev"}), key=lambda c: c["label"]):
    print(c["label"], c["filename"])
PY
}
qmp_chardevs() { qmp_session; }
qmp_do() { qmp_session "$@" >/dev/null; }
chardevs_are() { # EXPECTED: qemu's chardevs besides its two QMP monitors
    qmp_chardevs | grep -v '^compat_monitor' >"$work/chardevs" || true
    printf '%s' "$1" | diff -u - "$work/chardevs"
}
listens() { # SOCKET: something accepts a connection there (within 5 s)
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])' "$1"
}
nodes() { # DEVID: which of console DEVID's three node directories of domain D exist
    local p
    for p in /local/domain/$D/device/console/$1 /local/domain/0/backend/console/$D/$1 \
             /libxl/$D/device/console/$1; do
        xenstore-exists "$p" && echo "$p"
    done
    return 0
}
nodes_are() { # DEVID EXPECTED-COUNT(0|3)
    local n
    n=$(nodes "$1" | wc -l)
    [ "$n" -eq "$2" ] || { echo "console $1: $n of its 3 node directories, expected $2"; nodes "$1"; return 1; }
}
attach_usage='Usage: xl [-vtTfN] channel-attach <Domain> <channel-spec-component(s)>...

Add a channel to a running domain.

Options:

channel-spec: connection=pty|socket[,path=<SocketPath>][,name=<Name>]
              [,backend=<BackDomain>], as in a channel=[...] entry of a
              domain config file; several arguments are joined with commas.

'
detach_usage='Usage: xl [-vtTf] channel-detach [option] <Domain> <DevId>

Remove a channel from a running domain.

Options:

-f, --force        do not wait for the domain to release the channel
DevId: the channel'\''s console number (as in libxl-channel<DevId>)
'
list_header=$(printf '%-3s %-2s %-5s %-6s %-8s %-10s %-30s' Idx BE state evt-ch ring-ref connection '')$'\n'
list_row() { # IDX CONNECTION [PTY]: a row of xl channel-list for a channel no frontend took
    printf '%-3d %-2d %-5d %-6d %-8d %-10s ' "$1" 0 1 -1 -1 "$2"
    [ $# -lt 3 ] || printf '%-30s ' "$3"
    echo
}

check "patched xl finds the rebuilt libxenlight beside it (RUNPATH)" sh -c "
    env -u LD_LIBRARY_PATH LD_TRACE_LOADED_OBJECTS=1 '$patched' | grep -F \
        'libxenlight.so.4.17 => $root/target/libxl/bin/../lib/libxenlight.so.4.17 '"
# xl help: the same commands, plus exactly the two.
xl_help_diff() {
    xl_run "$XLCHANNEL_XL" help; cp "$work/xl.out" "$work/help.debian"
    xl_run "$patched" help; cp "$work/xl.out" "$work/help.patched"
    diff "$work/help.debian" "$work/help.patched" >"$work/help.diff"
    printf '%s\n' '54a55,56' \
        '>  channel-attach      Add a channel to a running domain' \
        '>  channel-detach      Remove a channel from a running domain' | diff -u - "$work/help.diff"
}
check "xl help: Debian's commands, plus channel-attach and channel-detach" xl_help_diff
for cmd in channel-attach channel-detach; do
    check "Debian's xl still lacks $cmd" \
        xl_expect 1 '' $'command not implemented\n' "$XLCHANNEL_XL" "$cmd" $D connection=pty,name=x
    check "Debian's xl help $cmd: not implemented" \
        xl_expect 0 "command \"$cmd\" not implemented"$'\n' '' "$XLCHANNEL_XL" help "$cmd"
done
check "xl help channel-attach" xl_expect 0 "$attach_usage" '' "$patched" help channel-attach
check "xl channel-detach -h" xl_expect 0 "$detach_usage" '' "$patched" channel-detach -h

# Usage errors: xl's status 2 and its message, then the usage.
check "channel-attach without arguments" xl_expect 2 "$attach_usage" \
    $'\'xl channel-attach\' requires at least 2 arguments.\n\n' "$patched" channel-attach
check "channel-attach without a SPEC" xl_expect 2 "$attach_usage" \
    $'\'xl channel-attach\' requires at least 2 arguments.\n\n' "$patched" channel-attach $D
check "channel-attach with an unknown option" xl_expect 2 '' \
    $'option `x\' not supported.\n' "$patched" channel-attach -x $D connection=pty
check "channel-detach without arguments" xl_expect 2 "$detach_usage" \
    $'\'xl channel-detach\' requires at least 2 arguments.\n\n' "$patched" channel-detach
check "channel-detach without a DevId" xl_expect 2 "$detach_usage" \
    $'\'xl channel-detach\' requires at least 2 arguments.\n\n' "$patched" channel-detach $D
check "channel-detach with a third argument" xl_expect 2 "$detach_usage" \
    $'\'xl channel-detach\' takes 2 arguments, not 3.\n\n' "$patched" channel-detach $D 1 2
check "channel-detach of a DevId that is not a number" xl_expect 1 '' \
    $'Error: org.a is not a channel\'s DevId (its console number, 1 or more).\n' \
    "$patched" channel-detach $D org.a
check "channel-detach of console 0 (the primary console)" xl_expect 1 '' \
    $'Error: 0 is not a channel\'s DevId (its console number, 1 or more).\n' \
    "$patched" channel-detach $D 0

# A SPEC is read by xl's own channel reader: for each SPEC the message and status of
# channel-attach are those of `xl -N create` with it as the config's only channel.
same_as_create() { # SPEC
    printf 'name = "spec"\nkernel = "none"\nchannel = [ "%s" ]\n' "$1" >"$work/spec.cfg"
    xl_run "$XLCHANNEL_XL" -N create "$work/spec.cfg"
    sed '/^Parsing config from /d' "$work/xl.err" >"$work/create.err"
    local create_status
    create_status=$(cat "$work/xl.status")
    xl_run "$patched" channel-attach $D "$1"
    [ "$(cat "$work/xl.status")" = "$create_status" ] ||
        { echo "status $(cat "$work/xl.status"), xl create's $create_status"; return 1; }
    [ -s "$work/xl.err" ] && cmp "$work/create.err" "$work/xl.err" && [ ! -s "$work/xl.out" ]
}
for spec in junk connection=tcp,name=a connection=socket,name=a name=a " , " connection=pty,=x; do
    check "bad SPEC '$spec': xl create's message and status" same_as_create "$spec"
done
# Where xl's reader crashes (xl create too: an entry of nothing but commas), a message.
check "an empty SPEC" xl_expect 1 '' $'Error: the channel spec is empty.\n' \
    "$patched" channel-attach $D ""
check "a SPEC of nothing but commas" xl_expect 1 '' $'Error: the channel spec is empty.\n' \
    "$patched" channel-attach $D , ,,
check "bad SPEC: the exact message (xl's own, without a newline)" xl_expect 1 '' \
    'failed to parse channel configuration: junk' "$patched" channel-attach $D junk
check "bad SPEC: a socket without a path" xl_expect 1 '' \
    $'channel connection \'socket\' requires path=..\n' \
    "$patched" channel-attach $D connection=socket,name=a
check "channel-attach -N: the channel as JSON (devid -1, the default, left out); components joined, quotes kept" xl_expect 0 \
    'channel: {
    "name": "org \"b\"\\",
    "connection.socket": {
        "path": "/abs/y sock"
    }
}

' $'unknown channel parameter \'colour\', ignoring\n' \
    "$patched" -N channel-attach $D connection=socket 'path=/abs/y sock' 'name=org "b"\' colour=red
check "channel-attach -N: a newline in a SPEC reaches the channel" xl_expect 0 \
    'channel: {
    "name": "org.a\nb",
    "connection.pty": {

    }
}

' '' "$patched" -N channel-attach $D connection=pty $'name=org.a\nb'
check "channel-attach of an unknown domain name" xl_expect 1 '' \
    $'nosuch is an invalid domain identifier (rc=-6)\n' \
    "$patched" channel-attach nosuch connection=pty,name=org.a
check "channel-detach of an unknown domain name" xl_expect 1 '' \
    $'nosuch is an invalid domain identifier (rc=-6)\n' "$patched" channel-detach nosuch 1
check "channel-attach to a domain that does not exist" xl_expect 1 '' \
    'libxl: error: xlchannel_xs_channel_add: Domain 4242:domain 4242 does not exist
libxl: error: libxl_device_channel_add: Domain 4242:Unable to add channel device
libxl_device_channel_add failed.
' "$patched" channel-attach 4242 connection=pty,name=org.a
check "... and nothing of domain 4242 is written" sh -c '! xenstore-exists /libxl/4242'

# Domain $D with its device model.
"$root/testbed/register-domain.sh" $D xl-cmds
(exec setpriv --pdeathsig KILL env -u LD_PRELOAD "${XLCHANNEL_QEMU:-qemu-system-x86_64}" \
    -machine none -nodefaults -display none \
    -qmp "unix:$run/qmp-libxl-$D,server=on,wait=off" -qmp "unix:$run/test-qmp,server=on,wait=off" \
    </dev/null >"$work/qemu.log" 2>&1) &
qemu_pid=$!
qemu_up() {
    for _ in $(seq 100); do
        [ -S "$run/qmp-libxl-$D" ] && qmp_chardevs >/dev/null 2>&1 && return 0
        kill -0 "$qemu_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$work/qemu.log"; return 1
}
check "qemu answers QMP for domain $D" qemu_up
check "qemu has no channel chardev yet" chardevs_are ''

sock=$run/org.a.sock
check "channel-attach DOMID socket SPEC: status 0, no output" xl_expect 0 '' '' \
    "$patched" channel-attach $D connection=socket,path=$sock,name=org.a
check "... the socket listens" listens "$sock"
check "... qemu has libxl-channel1 on it" chardevs_are "libxl-channel1 disconnected:unix:$sock,server=on
"
check "... console 1's nodes are there" nodes_are 1 3
check "... the name in libxl's record" test "$(xenstore-read /libxl/$D/device/console/1/name)" = org.a
check "... xl channel-list shows it" xl_expect 0 "${list_header}$(list_row 0 socket)
" '' "$patched" channel-list $D
check "channel-attach DOMAIN-NAME pty SPEC in two components: status 0" xl_expect 0 '' '' \
    "$patched" channel-attach xl-cmds connection=pty name=org.b
pty_of_2() { xenstore-read /local/domain/$D/device/console/2/tty; }
is_pty() { case $1 in /dev/pts/[0-9]*) return 0 ;; esac; echo "tty is '$1'"; return 1; }
check "... its pty is recorded in the frontend's tty" is_pty "$(pty_of_2)"
check "... qemu has libxl-channel2 on that pty" chardevs_are "libxl-channel1 disconnected:unix:$sock,server=on
libxl-channel2 pty:$(pty_of_2)
"
check "... xl channel-list shows both" xl_expect 0 "${list_header}$(list_row 0 socket)
$(list_row 1 pty "$(pty_of_2)")
" '' "$patched" channel-list $D
# The patched xl's channel-list is Debian's: the same bytes on the same store, and on
# Debian's library too.
same_list() {
    xl_run "$patched" channel-list "$@"; cat "$work/xl.status" >>"$work/xl.out"; cp "$work/xl.out" "$work/p.out"; cp "$work/xl.raw" "$work/p.raw"
    xl_run "$XLCHANNEL_XL" channel-list "$@"; cat "$work/xl.status" >>"$work/xl.out"
    cmp "$work/p.out" "$work/xl.out" && cmp "$work/p.raw" "$work/xl.raw" &&
    LD_PRELOAD=$XLCHANNEL_XENSHIM XLCHANNEL_SHIM_DOMAINS="0 $D" "$XLCHANNEL_XL" channel-list "$@" \
        >"$work/d.out" 2>/dev/null
    echo $? >>"$work/d.out"
    diff -u "$work/d.out" "$work/p.out"
}
check "channel-list of domain $D: patched xl = Debian's xl (both libraries)" same_list $D
check "channel-list by name: patched xl = Debian's xl" same_list xl-cmds
for d in $(xenstore-list /libxl | sort -n); do
    [ "$d" = 39 ] && continue # where xl itself crashes on Debian's library (see above)
    check "channel-list $d: patched xl = Debian's xl" same_list "$d"
done
check "channel-list of an unknown domain: patched xl = Debian's xl" same_list 4242 nosuch

check "channel-detach DOMID 1: status 0, no output" xl_expect 0 '' '' "$patched" channel-detach $D 1
check "... libxl-channel1 is gone from qemu, libxl-channel2 stays" chardevs_are "libxl-channel2 pty:$(pty_of_2)
"
check "... the socket file is gone" test ! -e "$sock"
not_listening() { ! listens "$1" 2>/dev/null; }
check "... nothing listens there" not_listening "$sock"
check "... console 1's nodes are gone" nodes_are 1 0
check "... console 2's stay" nodes_are 2 3
check "channel-detach of a console the domain does not have (1 again)" xl_expect 1 '' \
    "libxl: error: xlchannel_xs_channel_remove: Domain $D:domain $D has no console 1
libxl: error: channel_remove: Domain $D:Unable to remove channel device
Error: Device 1 not connected.
" "$patched" channel-detach $D 1
check "... console 2 is untouched" nodes_are 2 3
check "channel-detach --force DOMAIN-NAME 2: status 0, no output" xl_expect 0 '' '' \
    "$patched" channel-detach --force xl-cmds 2
check "... qemu has no channel chardev left" chardevs_are ''
check "... console 2's nodes are gone" nodes_are 2 0
check "... xl channel-list shows none" xl_expect 0 "$list_header" '' "$patched" channel-list $D
# qemu refuses: a chardev id it already has. The add fails, naming the step; nothing written.
check "qemu gets a chardev libxl-channel1 of its own" qmp_do \
    '{"execute": "chardev-add", "arguments": {"id": "libxl-channel1", "backend": {"type": "null", "data": {}}}}'
check "channel-attach when qemu refuses the chardev: status 1, xl's message" xl_expect 1 '' \
    "libxl: error: xlchannel_xs_channel_add: Domain $D:hotplug step chardev-add libxl-channel1 (nothing written to xenstore): qemu refused chardev-add: Chardev with id 'libxl-channel1' already exists (GenericError)
libxl: error: libxl_device_channel_add: Domain $D:Unable to add channel device
libxl_device_channel_add failed.
" "$patched" channel-attach $D connection=socket,path=$sock,name=org.a
check "... nothing written" nodes_are 1 0
check "... no socket" test ! -e "$sock"
check "... qemu's own chardev untouched" chardevs_are $'libxl-channel1 null\n'
check "qemu's chardev removed again" qmp_do '{"execute": "chardev-remove", "arguments": {"id": "libxl-channel1"}}'
check "a channel attached again takes console 1 again" xl_expect 0 '' '' \
    "$patched" channel-attach $D connection=socket,path=$sock,name=org.a
check "... as libxl-channel1" chardevs_are "libxl-channel1 disconnected:unix:$sock,server=on
"
# qemu refuses: the chardev is in use (a filter-redirector reads it). The removal fails,
# naming the step, and the channel stays whole.
check "a filter in qemu uses libxl-channel1" qmp_do \
    '{"execute": "netdev_add", "arguments": {"type": "hubport", "id": "h0", "hubid": 0}}' \
    '{"execute": "object-add", "arguments": {"qom-type": "filter-redirector", "id": "rin", "netdev": "h0", "queue": "tx", "indev": "libxl-channel1"}}'
check "channel-detach of a channel qemu will not let go: status 1, xl's message" xl_expect 1 '' \
    "libxl: error: xlchannel_xs_channel_remove: Domain $D:unplug step chardev-remove libxl-channel1 (the backend is back online): qemu refused chardev-remove: Chardev 'libxl-channel1' is busy (GenericError)
libxl: error: channel_remove: Domain $D:Unable to remove channel device
libxl_device_channel_remove failed.
" "$patched" channel-detach $D 1
check "... the channel stays whole" nodes_are 1 3
check "... and listening" listens "$sock"
check "... and in qemu" chardevs_are "libxl-channel1 disconnected:unix:$sock,server=on
"
check "the filter goes" qmp_do '{"execute": "object-del", "arguments": {"id": "rin"}}'
check "... and is detached again" xl_expect 0 '' '' "$patched" channel-detach $D 1
check "... leaving nothing" nodes_are 1 0
stop_qemu

# --- Inside libxl: the create-time channel code (libxl_test_channels.c) ----------------------
check "inside-libxl channel test (valgrind)" \
    env LD_LIBRARY_PATH="$rebuilt" LD_PRELOAD="$rebuilt/libxenlight_test.so $XLCHANNEL_XENSHIM" \
        valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
        "$build/test_libxl_channels"

echo "libxl-embedded: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
