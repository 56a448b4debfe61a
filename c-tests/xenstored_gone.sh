#!/usr/bin/env bash
# Run test_xenstored_gone against a private daemon it may kill; tear the test bed down
# whatever happens (its "daemon died" status is expected here).
set -u
here=$(cd "$(dirname "$0")" && pwd)
eval "$("$here/../testbed/xenstored-up.sh" --no-preload)" || exit 1
"$@"
rc=$?
"$here/../testbed/xenstored-down.sh" >/dev/null 2>&1 || true
exit $rc
