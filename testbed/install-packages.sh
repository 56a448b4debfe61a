#!/bin/sh
# install-packages.sh PKG...  --  apt-get install the Debian packages of PKG... that are not
# installed yet; refreshes the package lists only when apt cannot find one of them.
set -eu
if [ "$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi
missing=
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -n "$missing" ] || exit 0
for p in $missing; do
    apt-cache show "$p" >/dev/null 2>&1 || { $sudo apt-get update; break; }
done
echo "install-packages: installing$missing" >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $missing
