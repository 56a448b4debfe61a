#!/bin/sh
# fetch-xen.sh [DEST]  --  idempotently provide the real Xen 4.17 userspace for the testbed.
#
# * apt-get install libxen-dev libxenstore4 xenstore-utils (headers, libxenstore,
#   libxenlight, xenstore-* tools) -- only the ones missing, apt-get update only if needed.
# * apt-get download xen-utils-4.17 and unpack it with dpkg-deb -x into DEST
#   (default: <repo>/.deps/xen). That package holds xenstored and xl; installing it would
#   drag in systemd and init scripts, so it is never installed system-wide.
# Re-running is cheap: every step is skipped when its result is already present.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-$(dirname "$here")/.deps/xen}
pkgs="libxen-dev libxenstore4 xenstore-utils"
# xenstored-up.sh compiles xenshim.c on every start.
command -v "${CC:-cc}" >/dev/null 2>&1 || pkgs="$pkgs gcc libc6-dev"

if [ "$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi

"$here/install-packages.sh" $pkgs

# xenstored/xl must match the installed libxenctrl/libxenlight exactly (private ABI between
# them), so pin xen-utils-4.17 to the version of libxenmisc4.17 that apt just gave us.
ver=$(dpkg-query -W -f='${Version}' libxenmisc4.17)
stamp="$dest/.xen-utils-4.17_$ver"
if [ -f "$stamp" ] && [ -x "$dest/usr/lib/xen-4.17/bin/xenstored" ] && [ -x "$dest/usr/lib/xen-4.17/bin/xl" ]; then
    exit 0
fi

available() { apt-cache show "xen-utils-4.17=$ver" >/dev/null 2>&1; }
if ! available; then $sudo apt-get update; fi
if ! available; then
    # The security archive keeps only the newest build: bring the libraries up to it.
    echo "fetch-xen: xen-utils-4.17 $ver is gone from the archive; upgrading Xen libraries" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $pkgs
    ver=$(dpkg-query -W -f='${Version}' libxenmisc4.17)
    stamp="$dest/.xen-utils-4.17_$ver"
fi
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt-get download writes into the cwd; as root, apt drops to its _apt user and warns
# unless that user may write there.
if [ -z "$sudo" ] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
(cd "$tmp" && apt-get download "xen-utils-4.17=$ver")
rm -f "$dest"/.xen-utils-4.17_*
dpkg-deb -x "$tmp"/xen-utils-4.17_*.deb "$dest"
# Their shared libraries all come from the packages installed above.
for b in xenstored xl; do
    if ldd "$dest/usr/lib/xen-4.17/bin/$b" | grep 'not found' >&2; then
        echo "fetch-xen: $b misses libraries (above)" >&2
        exit 1
    fi
done
touch "$stamp"
echo "fetch-xen: xen-utils-4.17 $ver unpacked into $dest" >&2
