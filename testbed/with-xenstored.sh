#!/bin/sh
# with-xenstored.sh [--no-preload] CMD [ARGS...]
# Start a private real xenstored (xenstored-up.sh), run CMD with its environment
# (XENSTORED_PATH, LD_PRELOAD=xenshim.so, XLCHANNEL_*), always tear it down, and exit
# with CMD's status -- or 3 if CMD passed but the daemon died meanwhile.
set -u
here=$(cd "$(dirname "$0")" && pwd)

opt=
if [ "${1:-}" = --no-preload ]; then opt=--no-preload; shift; fi
[ $# -gt 0 ] || { echo "usage: $0 [--no-preload] CMD [ARGS...]" >&2; exit 2; }

# EXIT runs the teardown; INT/TERM/HUP are turned into exits so it runs then, too.
# Unset first so an outer testbed's daemon (nested use) is never the one torn down.
unset XLCHANNEL_TESTBED_DIR
cleanup() {
    [ -n "${XLCHANNEL_TESTBED_DIR:-}" ] || return 0
    "$here/xenstored-down.sh" "$XLCHANNEL_TESTBED_DIR"
    rc=$?
    if [ "$status" -eq 0 ] && [ "$rc" -ne 0 ]; then status=$rc; fi
}
status=1
trap 'cleanup; exit "$status"' EXIT
trap 'status=130; exit' INT
trap 'status=143; exit' TERM
trap 'status=129; exit' HUP

env_out=$("$here/xenstored-up.sh" $opt) || exit 1
eval "$env_out"
"$@"
status=$?
exit "$status"
