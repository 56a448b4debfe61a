#!/bin/sh
# xenstored-up.sh [--no-preload]  --  start one private, real xenstored for the tests.
#
# Prints shell assignments for the clients; use as
#     eval "$(testbed/xenstored-up.sh)" && trap 'testbed/xenstored-down.sh' EXIT
# The daemon and everything it writes live in a fresh mktemp directory (printed as
# XLCHANNEL_TESTBED_DIR); testbed/xenstored-down.sh kills the daemon and removes it.
#
# Why no mount namespace: 4.17's xenstored takes its listening socket from $XENSTORED_PATH
# and its run directory (tdb file, if ever on disk) from $XENSTORED_RUNDIR, the same
# variables libxenstore's clients use (verified: with both pointing into the private dir
# nothing is created under /var/run/xenstored). So parallel daemons never collide and we
# need neither root nor `unshare -m`, which would also hide the socket from clients
# running outside the namespace.
#
# Environment (all optional):
#   XLCHANNEL_XEN_DIR         unpacked xen-utils-4.17 (default <repo>/.deps/xen, see fetch-xen.sh)
#   XLCHANNEL_XENSTORED_ARGS  extra daemon options, e.g. "-V" or "-T /tmp/trace"
#   XLCHANNEL_XENSTORED_WAIT  seconds to wait for the socket (default 10)
#   CC                        compiler for xenshim.c (default cc)
#   TMPDIR                    where the private directory is created (default /tmp)
#
# Printed variables:
#   XENSTORED_PATH         the daemon's socket; honoured by libxenstore (xenstore-*, libxl)
#   XLCHANNEL_TESTBED_DIR  the private directory (the shim finds xsd_port/xsd_kva there)
#   XLCHANNEL_XENSHIM      the built preload library (for children that need it)
#   XLCHANNEL_XL           the real xl binary (run it with LD_PRELOAD=$XLCHANNEL_XENSHIM)
#   XLCHANNEL_XENSTORED_PID
#   LD_PRELOAD             shim prepended (unless --no-preload): real libxenlight's
#                          libxl_ctx_alloc needs it; plain xenstore clients do not.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
xen=${XLCHANNEL_XEN_DIR:-$(dirname "$here")/.deps/xen}
xsd=$xen/usr/lib/xen-4.17/bin/xenstored
preload=1
case "${1:-}" in
    --no-preload) preload=0 ;;
    "") ;;
    *) echo "usage: $0 [--no-preload]" >&2; exit 2 ;;
esac

die() { echo "xenstored-up: $*" >&2; exit 1; }
[ -x "$xsd" ] || die "no xenstored at $xsd; run testbed/fetch-xen.sh first"
command -v xenstore-read >/dev/null || die "xenstore-read missing; run testbed/fetch-xen.sh first"

dir=$(mktemp -d "${TMPDIR:-/tmp}/xlchannel-xs.XXXXXX")
touch "$dir/.xlchannel-testbed" # lets xenstored-down.sh check before it rm -rf's anything
fail() {
    echo "xenstored-up: $*" >&2
    if [ -s "$dir/xenstored.log" ]; then
        echo "---- xenstored log ($dir/xenstored.log) ----" >&2
        cat "$dir/xenstored.log" >&2
    fi
    "$here/xenstored-down.sh" "$dir" >/dev/null 2>&1 || true
    exit 1
}

# Built per run: ~0.1 s, never stale, nothing to clean up in the source tree.
${CC:-cc} -Wall -Wextra -Werror -O2 -shared -fPIC -o "$dir/xenshim.so" "$here/xenshim.c" -ldl \
    2>"$dir/cc.log" || { cat "$dir/cc.log" >&2; fail "building xenshim.so failed"; }

# Stand-ins for /proc/xen/xsd_port (dom0's xenstore event channel, any port number) and
# /proc/xen/xsd_kva (dom0's ring page: a zeroed page is an idle ring).
echo 1 >"$dir/xsd_port"
head -c 4096 /dev/zero >"$dir/xsd_kva"

# -N: stay in the foreground so $! is the daemon. -F puts $dir into its command line,
# which xenstored-down.sh checks before killing a pid (guards against pid reuse).
# stdin/stdout/stderr are detached so `$(xenstored-up.sh)` does not wait for the daemon.
# shellcheck disable=SC2086 # XLCHANNEL_XENSTORED_ARGS is a list of options
XLCHANNEL_TESTBED_DIR=$dir XENSTORED_RUNDIR=$dir XENSTORED_PATH=$dir/socket \
    LD_PRELOAD=$dir/xenshim.so \
    "$xsd" -N -F "$dir/xenstored.pid" ${XLCHANNEL_XENSTORED_ARGS:-} \
    </dev/null >"$dir/xenstored.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/daemon.pid"

# Ready = the socket exists and answers a read (a bare socket file may not accept yet).
tries=$(( ${XLCHANNEL_XENSTORED_WAIT:-10} * 10 ))
while :; do
    kill -0 "$pid" 2>/dev/null || fail "xenstored (pid $pid) exited during startup"
    if [ -S "$dir/socket" ] &&
       XENSTORED_PATH=$dir/socket timeout 2 xenstore-read /tool/xenstored >/dev/null 2>&1; then
        break
    fi
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || fail "xenstored did not answer on $dir/socket within ${XLCHANNEL_XENSTORED_WAIT:-10}s"
    sleep 0.1
done

q() { printf "%s='%s'; export %s\n" "$1" "$2" "$1"; } # paths from mktemp: no quotes inside
q XENSTORED_PATH "$dir/socket"
q XLCHANNEL_TESTBED_DIR "$dir"
q XLCHANNEL_XENSHIM "$dir/xenshim.so"
q XLCHANNEL_XL "$xen/usr/lib/xen-4.17/bin/xl"
q XLCHANNEL_XENSTORED_PID "$pid"
if [ "$preload" = 1 ]; then
    q LD_PRELOAD "$dir/xenshim.so${LD_PRELOAD:+ $LD_PRELOAD}"
fi
