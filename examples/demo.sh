#!/usr/bin/env bash
# make demo: the cloud-agent channel story end to end, told step by step. Run inside
# testbed/with-xenstored.sh (a private real Xen 4.17 xenstored, torn down afterwards).
# Every step must succeed (set -e); every wait is bounded; qemu is always stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH=$PWD/target/release:$PATH
domid=7
config=examples/cloud-vm.cfg
: "${XENSTORED_PATH:?run me through testbed/with-xenstored.sh}"

# Only real xl needs the test bed's hypervisor shim; qemu and python run without it.
shim=${LD_PRELOAD:-}
unset LD_PRELOAD

run=$(mktemp -d "${TMPDIR:-/tmp}/xlchannel-demo.XXXXXX")
qemu_pid=
qemu_log=$run/qemu.log
guest_pid=

# qemu's state letter from /proc, or nothing once it is gone (a zombie counts as gone).
qemu_alive() {
    [ -n "$qemu_pid" ] || return 1
    local pid comm state
    read -r pid comm state _ 2>/dev/null <"/proc/$qemu_pid/stat" || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# Wait up to $1 tenths of a second for qemu to exit.
qemu_wait() {
    local i
    for ((i = 0; i < $1; i++)); do qemu_alive || return 0; sleep 0.1; done
    ! qemu_alive
}

# Stop qemu by its pid once it was asked to quit: wait 5 s, then TERM, then KILL. Fails if
# qemu needed a signal.
qemu_stop() {
    [ -n "$qemu_pid" ] || return 0
    local sig ok=0
    if ! qemu_wait 50; then
        ok=1
        for sig in TERM KILL; do
            echo "qemu did not quit; sending SIG$sig to pid $qemu_pid" >&2
            kill -"$sig" "$qemu_pid" 2>/dev/null || true
            if qemu_wait 20; then break; fi
        done
    fi
    wait "$qemu_pid" 2>/dev/null || true
    qemu_pid=
    return "$ok"
}

finish() {
    local status=$?
    if [ -n "$guest_pid" ]; then kill "$guest_pid" 2>/dev/null || true; wait "$guest_pid" 2>/dev/null || true; fi
    if [ -n "$qemu_pid" ]; then
        timeout 5 python3 examples/qmp.py "$run/qmp" quit >/dev/null 2>&1 || true
        qemu_stop || true
    fi
    if [ "$status" -ne 0 ]; then
        echo "make demo: FAILED (status $status)" >&2
        [ -s "$qemu_log" ] && { echo "---- qemu log ----" >&2; cat "$qemu_log" >&2; }
    fi
    rm -rf "$run"
    exit "$status"
}
trap finish EXIT

n=0
step() { n=$((n + 1)); printf '\n== %d. %s\n' "$n" "$*"; }
note() { printf '   (%s)\n' "$*"; }
# Print a command as a shell would read it back, then run it.
show() {
    local out= a
    for a in "$@"; do
        if [[ $a =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then out+=" $a"; else out+=" '${a//\'/\'\\\'\'}'"; fi
    done
    printf '$%s\n' "$out"
}
cmd() { show "$@"; "$@"; }

# The dom0 agent talks through channel chardev $1 (socket $2): examples/guest_end.py stands
# in for the guest's agent inside qemu (over its own QMP socket) and reads one message; with
# --reply it answers (and its muxes stay in qemu), else the agent sends --one-way and the
# stand-in takes all it added away again. Both are bounded by timeout; the stand-in's lines
# follow the agent's.
converse() {
    local chardev=$1 sock=$2 mode=${3:-} i
    local stand_in=(timeout 30 python3 examples/guest_end.py "$run/qmp-guest" "$chardev" "$run")
    local agent=(timeout 20 python3 examples/dom0_agent.py "$sock")
    if [ "$mode" = --reply ]; then stand_in+=(--reply); else agent+=(--one-way "hello from dom0"); fi
    local out=$run/guest-$chardev.out
    # Made empty here, before the stand-in starts: no "ready" from an earlier run can be read.
    : >"$out"
    printf '%s &\n' "$(show "${stand_in[@]}")"
    "${stand_in[@]}" >"$out" 2>&1 &
    guest_pid=$!
    for ((i = 0; i < 250; i++)); do  # 25 s: longer than any of the stand-in's own waits
        grep -q '^guest: ready$' "$out" && break
        kill -0 "$guest_pid" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q '^guest: ready$' "$out"; then
        local state="still running" status=0
        if ! kill -0 "$guest_pid" 2>/dev/null; then
            wait "$guest_pid" || status=$?
            guest_pid= state="exited with status $status"
        fi
        echo "the stand-in is not ready after $i tenths of a second ($state):" >&2
        cat "$out" >&2
        exit 1
    fi
    cmd "${agent[@]}"
    wait "$guest_pid" || { cat "$out" >&2; exit 1; }
    guest_pid=
    grep -v '^guest: ready$' "$out"
}

echo "Channels for a guest's cloud agent: read from an xl config, hot-added to the running guest"
echo "(its device model, qemu in dom0, first, then xenstore), and used by a dom0 program. Every"
echo "daemon and tool here is real (Debian's Xen 4.17 xenstored and xl, qemu $(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')); only the"
echo "hypervisor and the guest are absent."

step "A private xenstored is running (Xen 4.17's, no hypervisor needed)."
note "socket $XENSTORED_PATH"

step "Register guest $domid ('cloud-vm') in xenstore, as a toolstack does when it creates a domain."
cmd xenstore-write /local/domain/$domid "" /local/domain/$domid/name cloud-vm /local/domain/$domid/domid $domid
cmd xenstore-chmod /local/domain/$domid n0 r$domid
cmd xenstore-write /local/domain/$domid/device ""
cmd xenstore-chmod /local/domain/$domid/device n0 r$domid

step "The guest is running: start its device model, qemu, with libxl's QMP socket for it."
echo "On a real host 'xl create' starts qemu when it creates the domain, with the -chardev"
echo "arguments of the channels it has then (step 11); this guest has none yet. No hypervisor"
echo "runs here, so qemu runs without a machine (-machine none). xlchannel finds it at"
echo "<run dir>/qmp-libxl-$domid; the demo's own QMP sockets are qmp and qmp-guest."
export XLCHANNEL_RUN_DIR=$run
note "XLCHANNEL_RUN_DIR=$run: the run dir (/var/run/xen on a real host)"
qemu=(qemu-system-x86_64 -machine none -nodefaults -display none
      -qmp "unix:$run/qmp-libxl-$domid,server=on,wait=off" -qmp "unix:$run/qmp,server=on,wait=off"
      -qmp "unix:$run/qmp-guest,server=on,wait=off")
printf '%s &\n' "$(show "${qemu[@]}")"
"${qemu[@]}" </dev/null >"$qemu_log" 2>&1 &
qemu_pid=$!
echo "qemu runs as pid $qemu_pid"
cmd timeout 20 python3 examples/qmp.py "$run/qmp" query-chardev
note "no channel yet: only qemu's three QMP monitors"

step "The channel list of the guest's xl config, $config:"
sed -n '/^channel/,/^]/p' $config
# The socket goes into this run's temp dir, so the demo needs no root and runs in parallel.
sed "s|path=/run/xen/|path=$run/|" $config >"$run/cloud-vm.cfg"
cmp -s $config "$run/cloud-vm.cfg" && { echo "no socket path to relocate in $config" >&2; exit 1; }
note "the demo uses a copy whose socket is $run/cloud-agent.sock instead of /run/xen/cloud-agent.sock"

step "Read its channels as 'xl create' 4.17 reads them."
show xlchannel config "$run/cloud-vm.cfg"
xlchannel config "$run/cloud-vm.cfg" | tee "$run/channels.json"

step "Hot-add them to the running guest, with the config's rules ('xl create' would have added them at creation)."
echo "For each channel xlchannel first makes its character device in qemu over QMP, then writes"
echo "its xenstore nodes, so the socket listens before the guest can see the channel."
cmd xlchannel add cloud-vm --config "$run/cloud-vm.cfg"
echo "A mistaken request is refused, and nothing is written:"
show xlchannel add cloud-vm connection=socket,name=org.example.broken
status=0
xlchannel add cloud-vm connection=socket,name=org.example.broken 2>&1 || status=$?
[ "$status" -eq 1 ]
echo "exit status $status"
if xenstore-exists /local/domain/$domid/device/console/3; then echo "console 3 was written" >&2; exit 1; fi

step "Ask qemu over QMP which character devices it has now."
cmd timeout 20 python3 examples/qmp.py "$run/qmp" query-chardev | tee "$run/chardevs"
grep -q "\"disconnected:unix:$run/cloud-agent.sock,server=on\", \"label\": \"libxl-channel1\"" "$run/chardevs"
grep -q '"pty:/dev/pts/[0-9]*", "label": "libxl-channel2"' "$run/chardevs"
note "libxl-channel1 listens on the agent channel's socket; libxl-channel2 is the pty, which xlchannel recorded for the guest's console as its tty: $(xenstore-read /local/domain/$domid/device/console/2/tty)"

step "List them; Debian's real 'xl channel-list' prints the same bytes."
show xlchannel list cloud-vm
xlchannel list cloud-vm | tee "$run/list.ours"
LD_PRELOAD=$shim XLCHANNEL_SHIM_DOMAINS="0 $domid" "$XLCHANNEL_XL" channel-list cloud-vm \
    >"$run/list.xl" 2>"$run/xl.err" || { cat "$run/xl.err" >&2; exit 1; }
# xl complains on stderr when the machine has no /etc/xen/xl.conf; anything else is shown.
grep -v '^Failed to read config file: /etc/xen/xl.conf' "$run/xl.err" >&2 || true
cmp "$run/list.ours" "$run/list.xl"
echo "xl channel-list cloud-vm: identical ($(wc -c <"$run/list.xl") bytes)"

step "The same xl on Debian's libxenlight rebuilt with its channel code in xlchannel (make libxl)."
rebuilt=$PWD/target/libxl/lib
show env LD_LIBRARY_PATH=target/libxl/lib xl channel-list cloud-vm
LD_PRELOAD=$shim LD_LIBRARY_PATH=$rebuilt XLCHANNEL_SHIM_DOMAINS="0 $domid" "$XLCHANNEL_XL" \
    channel-list cloud-vm >"$run/list.rebuilt" 2>"$run/xl.err" || { cat "$run/xl.err" >&2; exit 1; }
cat "$run/list.rebuilt"
cmp "$run/list.xl" "$run/list.rebuilt"
note "xl itself is Debian's, unchanged; libxl_device_channel_list and _getinfo are now xlchannel's"
echo "And 'xl -N create' (a dry run: the domain config as JSON) on both libraries:"
(cd "$run" && LD_PRELOAD=$shim "$XLCHANNEL_XL" -N create cloud-vm.cfg 2>/dev/null) | grep -v '"uuid"' >"$run/create.xl"
(cd "$run" && LD_PRELOAD=$shim LD_LIBRARY_PATH=$rebuilt "$XLCHANNEL_XL" -N create cloud-vm.cfg 2>/dev/null) |
    grep -v '"uuid"' >"$run/create.rebuilt"
sed -n '/"channels"/,/^    \],*$/p' "$run/create.rebuilt"
cmp "$run/create.xl" "$run/create.rebuilt"
echo "xl -N create: identical ($(wc -l <"$run/create.xl") lines; the channels come from xlchannel's libxl_device_channel_gen_json)"

step "The xenstore nodes of the socket channel (console 1), with their permissions."
echo "Frontend, read by the guest's console driver. n names a key's owner, r who else may read"
echo "it: the guest owns the keys it negotiates with (n$domid), dom0 those it may only read (n0,r$domid)."
cmd xenstore-ls -fp /local/domain/$domid/device/console/1
echo "Backend, for qemu in dom0:"
cmd xenstore-ls -fp /local/domain/0/backend/console/$domid/1
echo "libxl's dom0-only record, which 'list' trusts:"
cmd xenstore-ls -fp /libxl/$domid/device/console/1
echo "Console 2, the pty channel, has the same nodes; its output node says:"
cmd xenstore-read /local/domain/$domid/device/console/2/output

step "The qemu arguments that serve these channels."
echo "When a guest is created with these channels, xl starts its qemu with these arguments; here"
echo "the running qemu got the same character devices through QMP (steps 6 and 7)."
show xlchannel dm-args cloud-vm
xlchannel dm-args cloud-vm | tee "$run/dm-args"
grep -q -- "-chardev socket,id=libxl-channel1,path=$run/cloud-agent.sock,server=on,wait=off -chardev pty,id=libxl-channel2" "$run/dm-args"

step "The dom0 agent talks to the guest's agent through the channel, its socket found through xenstore."
echo "No guest runs here, so nothing inside qemu would read the channel's chardev. A stand-in for"
echo "the guest's agent (examples/guest_end.py) adds, over qemu's QMP, a socket chardev of its own"
echo "and the filters that carry the channel's bytes to it and its answer back (qemu's"
echo "filter-redirectors, the only frontends that take a chardev without a guest; qemu's muxes let"
echo "a reading and a writing filter share each chardev; the filters frame each message with a"
echo "4-byte length). The bytes go: dom0 agent -> the channel's socket -> qemu's libxl-channel1 ->"
echo "the stand-in, and its answer back the same way."
sock=$(xenstore-read /libxl/$domid/device/console/1/path)
converse libxl-channel1 "$sock" --reply

step "Hot-add a third channel, by SPEC, and talk through it at once."
cmd xlchannel add cloud-vm "connection=socket,name=org.example.hotplug,path=$run/hotplug.sock"
cmd timeout 20 python3 examples/qmp.py "$run/qmp" query-chardev | tee "$run/chardevs"
grep -q "\"disconnected:unix:$run/hotplug.sock,server=on\", \"label\": \"libxl-channel3\"" "$run/chardevs"
note "libxl-channel3 listens on the new socket; guest-libxl-channel1 and the two muxes are step 12's stand-in's, which qemu keeps"
echo "The stand-in for the guest's agent again, now reading libxl-channel3: the dom0 agent's bytes"
echo "pass through the new channel's socket and chardev the moment the add has returned. One way"
echo "only: an answer would need a mux, and qemu never lets a chardev go that a mux has had, so"
echo "this channel could not be removed in step 15."
converse libxl-channel3 "$(xenstore-read /libxl/$domid/device/console/3/path)"

step "Inside the guest, udev links the new console by its channel name."
echo "No guest runs here, so the helper runs in dom0; it reads the name the guest's would read at"
echo "device/console/3/name relative to its own domain's home, here dom0's, where the demo writes it."
cmd xenstore-write /local/domain/0/device/console/3/name org.example.hotplug
mkdir -p "$run/dev"
cmd xlchannel-guest add /devices/console-3 --dev-dir "$run/dev"
cmd ls -l "$run/dev/xen-channel"
cmd xlchannel-guest remove /devices/console-3 --dev-dir "$run/dev"
[ ! -e "$run/dev/xen-channel/org.example.hotplug" ]
echo "the link is gone again"
xenstore-rm /local/domain/0/device/console

step "Remove the hot-added channel: chardev, socket and nodes go."
cmd xlchannel remove cloud-vm org.example.hotplug
cmd timeout 20 python3 examples/qmp.py "$run/qmp" query-chardev | tee "$run/chardevs"
if grep -q '"label": "libxl-channel3"' "$run/chardevs"; then echo "libxl-channel3 is still in qemu" >&2; exit 1; fi
[ ! -e "$run/hotplug.sock" ] || { echo "$run/hotplug.sock is still there" >&2; exit 1; }
for node in /local/domain/$domid/device/console/3 /local/domain/0/backend/console/$domid/3 /libxl/$domid/device/console/3; do
    if xenstore-exists "$node"; then echo "$node is still there" >&2; exit 1; fi
done
echo "no chardev libxl-channel3, no socket file, no console 3 nodes"

step "Clean up: qemu is told to quit, and stopped by its pid if it does not."
cmd timeout 20 python3 examples/qmp.py "$run/qmp" quit
qemu_stop
echo "qemu has exited; the temp dir is removed, and the test bed's xenstored is torn down."
