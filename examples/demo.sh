#!/usr/bin/env bash
# make demo: the channel story end to end against Debian's real xenstored (started by
# testbed/with-xenstored.sh), told step by step.
set -euo pipefail
cd "$(dirname "$0")/.."
build=c-tests/build
domid=7
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
sock=$run/cloud-agent.sock
step() { printf '\n== %s\n' "$*"; }

step "A private, real Xen 4.17 xenstored is running (socket: $XENSTORED_PATH)."
step "Register guest $domid ('cloud-vm') as a toolstack does at domain creation."
xenstore-write /local/domain/$domid "" /local/domain/$domid/name cloud-vm /local/domain/$domid/domid $domid
xenstore-chmod /local/domain/$domid n0 r$domid
xenstore-write /local/domain/$domid/device ""
xenstore-chmod /local/domain/$domid/device n0 r$domid

step "dom0's cloud software adds the guest agent's channels through xlchannel's C API."
$build/channel_demo $domid "$sock"

step "What the guest's console driver and udev rule see (frontend, with permissions):"
xenstore-ls -fp /local/domain/$domid/device/console
step "What the backend (qemu in dom0) is told:"
xenstore-ls -fp /local/domain/0/backend/console/$domid
step "libxl's own dom0-only record, which list/getinfo trust:"
xenstore-ls -fp /libxl/$domid/device/console

step "Debian's real libxenlight 4.17 reads the same channels back:"
$build/channels_list_real $domid

step "Done; the test bed is torn down."
