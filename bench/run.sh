#!/bin/sh
# bench/run.sh BIN_DIR [--quick]: bench/bench.py against one private real xenstored started
# with a trace file (-T), which the bench switches on only around the runs it counts.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=$1
shift
# The smoke run of make check keeps its (unjudged) figures apart from a real run's.
out=$root/target/bench
case " $* " in *" --quick "*) out=$out/smoke ;; esac
# The embedded libxenlight (make libxl), benched against Debian's when it is built.
if [ -f "$root/target/libxl/lib/libxenlight.so.4.17" ]; then
    XLCHANNEL_EMBEDDED_LIB=$root/target/libxl/lib
    export XLCHANNEL_EMBEDDED_LIB
fi
trace=$(mktemp "${TMPDIR:-/tmp}/xlchannel-bench-trace.XXXXXX")
XLCHANNEL_XENSTORED_ARGS="-T $trace" "$root/testbed/with-xenstored.sh" /usr/bin/python3 "$here/bench.py" \
    "$bin" "$root/target/release/xlchannel" "$root/.deps/xen/usr/lib/xen-4.17/bin/xenstore-control" \
    "$trace" "$out" "$@"
rc=$?
rm -f "$trace"
exit $rc
