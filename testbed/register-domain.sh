#!/bin/sh
# register-domain.sh DOMID NAME: make a guest exist in the test bed's xenstored the way a
# toolstack leaves it at domain creation: /local/domain/DOMID owned by dom0 and readable by
# the guest, its name and domid, and a device directory the guest may read. Run it where
# XENSTORED_PATH points at the daemon (inside testbed/with-xenstored.sh, or after
# `eval "$(testbed/xenstored-up.sh)"`).
set -eu
if [ $# -ne 2 ]; then
    echo "usage: $0 DOMID NAME" >&2
    exit 2
fi
domid=$1 name=$2
case $domid in ''|*[!0-9]*) echo "$0: DOMID must be a number, not '$domid'" >&2; exit 2 ;; esac
d=/local/domain/$domid
xenstore-write "$d" "" "$d/name" "$name" "$d/domid" "$domid"
xenstore-chmod "$d" n0 "r$domid"
xenstore-write "$d/device" ""
xenstore-chmod "$d/device" n0 "r$domid"
