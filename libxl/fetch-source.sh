#!/bin/sh
# fetch-source.sh DEST  --  Debian's xen source package of the installed libxenmisc4.17 version,
# unpacked (with Debian's own patches applied) into DEST, idempotently.
#
# The machine's apt sources list binary packages only; the deb-src lines live in a private apt
# configuration under DEST's parent, so the machine's own sources and lists stay untouched.
set -eu

dest=${1:?usage: fetch-source.sh DEST}
die() { echo "make libxl: $*" >&2; exit 1; }

ver=$(dpkg-query -W -f='${Version}' libxenmisc4.17 2>/dev/null) ||
    die "libxenmisc4.17 is not installed (testbed/fetch-xen.sh installs it)"
stamp="$dest/.xlchannel-source-$ver"
[ -f "$stamp" ] && exit 0

work=$(dirname "$dest")/apt
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/sources.list.d"
# The binary archives the machine uses, as source archives.
: >"$work/sources.list"
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed -n 's/^Types: deb$/Types: deb-src/p; /^Types:/!p' "$f" >"$work/sources.list.d/$(basename "$f")"
done
if [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list >"$work/sources.list"
fi
apt_private() {
    apt-get -q -o Dir::Etc::SourceList="$work/sources.list" \
        -o Dir::Etc::SourceParts="$work/sources.list.d" \
        -o Dir::State::Lists="$work/lists" \
        -o Dir::Cache::Archives="$work/archives" "$@"
}
apt_private update >"$work/update.log" 2>&1 || die "apt-get update of the deb-src lists failed (see $work/update.log)"

dl=$work/download
rm -rf "$dl"; mkdir -p "$dl"
# As root, apt drops to _apt for downloads and warns unless that user may write there.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$dl"; fi
(cd "$dl" && apt_private source --download-only "xen=$ver") >"$work/source.log" 2>&1 ||
    die "Debian's xen source package $ver cannot be fetched (see $work/source.log)"
dsc=$(ls "$dl"/xen_*.dsc 2>/dev/null | head -n1)
[ -n "$dsc" ] || die "no xen_*.dsc was downloaded for $ver"

command -v dpkg-source >/dev/null || die "dpkg-source missing (package dpkg-dev)"
rm -rf "$dest" "$dest.tmp"
dpkg-source -x "$dsc" "$dest.tmp" >"$work/unpack.log" 2>&1 || die "dpkg-source -x $dsc failed (see $work/unpack.log)"
mv "$dest.tmp" "$dest"
touch "$stamp"
echo "make libxl: xen $ver source unpacked into $dest" >&2
