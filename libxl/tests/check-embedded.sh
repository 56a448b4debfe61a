#!/usr/bin/env bash
# check-embedded.sh  --  the proofs that target/libxl/lib/libxenlight.so.4.17.0 (make libxl) is
# Debian's libxenlight 4.17 with its channels in xlchannel: its ABI, Debian's unchanged xl on
# it, libxl's own IDL test, the differential case tables, and the inside-libxl test of the
# create-time channel code. Runs inside testbed/with-xenstored.sh; prints
# "libxl-embedded: N passed, M failed".
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
rebuilt=$root/target/libxl/lib
build=$root/c-tests/build
debian=$(ldconfig -p | sed -n 's/^\tlibxenlight.so.4.17 (libc6,x86-64) => //p' | head -n1)
export XLCHANNEL_LIBXL_REBUILT=$rebuilt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

check() { # NAME CMD...: CMD's status decides; its output is shown only on failure
    local name=$1; shift
    if "$@" >"$work/out" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: $name"; sed 's/^/    /' "$work/out" | head -40
    fi
}
on_rebuilt() { LD_LIBRARY_PATH=$rebuilt${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$@"; }

# --- ABI ---------------------------------------------------------------------------------
syms() { nm -D --defined-only --with-symbol-versions "$1" | awk '{print $2, $3}' | LC_ALL=C sort; }
abi_symbols() {
    { syms "$debian"
      echo "T libxl_device_channel_add@@VERS_4.17.0"
      echo "T libxl_device_channel_list_free@@VERS_4.17.0"
      echo "T libxl_device_channel_remove@@VERS_4.17.0"
      echo "T libxl_device_channel_destroy@@VERS_4.17.0"; } | LC_ALL=C sort >"$work/expected"
    syms "$rebuilt/libxenlight.so.4.17.0" >"$work/actual"
    diff -u "$work/expected" "$work/actual"
}
check "dynamic symbols: Debian's, with the same versions, plus the four additions" abi_symbols
soname() { readelf -d "$1" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p'; }
check "soname libxenlight.so.4.17" test "$(soname "$rebuilt/libxenlight.so.4.17.0")" = libxenlight.so.4.17
check "no xlchannel or Rust symbol exported" \
    sh -c "! nm -D --defined-only '$rebuilt/libxenlight.so.4.17.0' | grep -E ' (xlchannel_|_ZN|_R[A-Z]|rust_|__rust)'"

# --- Xen's own IDL test (gentest.py): passes on both, and prints the same ------------------
check "testidl on Debian's libxenlight" sh -c "'$root/target/libxl/bin/testidl' >'$work/testidl.debian'"
check "testidl on the rebuilt libxenlight" \
    sh -c "LD_LIBRARY_PATH='$rebuilt' '$root/target/libxl/bin/testidl' >'$work/testidl.rebuilt'"
check "testidl prints the same on both" cmp "$work/testidl.debian" "$work/testidl.rebuilt"
check "testidl is clean under valgrind on the rebuilt libxenlight" \
    on_rebuilt valgrind -q --error-exitcode=9 "$root/target/libxl/bin/testidl"

# --- The case tables of c-tests/compare, built against Debian's libxl.h ----------------------
# Run once on Debian's library and once on the rebuilt one: the same, except that where libxl
# 4.17 aborts the rebuilt library must give xlchannel's result (the calls reach Rust).
wrap() { printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s\n' "$rebuilt" "$1" >"$2"; chmod +x "$2"; }
wrap "$build/behaviour_real" "$work/behaviour_rebuilt"
check "compare-json: Debian's vs rebuilt" \
    env REQUIRE_DIVERGENCES=1 "$root/c-tests/compare/compare.sh" compare-json-rebuilt \
        "$build/behaviour_real" "$work/behaviour_rebuilt"
"$build/channels_setup" >/dev/null || { echo "channels_setup failed"; exit 1; }
wrap "$build/channels_read_real" "$work/channels_rebuilt"
check "compare-channels: Debian's vs rebuilt" \
    env REQUIRE_DIVERGENCES=1 "$root/c-tests/compare/compare.sh" compare-channels-rebuilt \
        "$build/channels_read_real" "$work/channels_rebuilt"

# --- Debian's unchanged xl on the rebuilt library -----------------------------------------
xl_both() { # ARGS...: xl's stdout and status, and its stderr's shape, on Debian's library and
           # on the rebuilt one
    LD_PRELOAD=$XLCHANNEL_XENSHIM "$XLCHANNEL_XL" "$@" >"$work/xl.d.out" 2>"$work/xl.d.err"
    echo "status $?" >>"$work/xl.d.out"
    LD_PRELOAD=$XLCHANNEL_XENSHIM LD_LIBRARY_PATH=$rebuilt "$XLCHANNEL_XL" "$@" \
        >"$work/xl.r.out" 2>"$work/xl.r.err"
    echo "status $?" >>"$work/xl.r.out"
    diff -u "$work/xl.d.out" "$work/xl.r.out" && same_messages "$work/xl.d.err" "$work/xl.r.err"
}
# xl's own messages must be the same. libxl's log lines name where they come from (libxl's C
# file, or xlchannel's function) and xlchannel may add a line naming the cause: every line
# Debian's library logs must be logged on the rebuilt one too, at the same level, in order,
# with the same text after its location (or, where libxl words the same error differently,
# at least at the same level).
same_messages() {
    python3 - "$1" "$2" <<'PY'
import re, sys
def split(path):
    own, logged = [], []
    for line in open(path, errors="replace").read().splitlines():
        m = re.match(r"libxl: (\w+): [^ ]*?:\d+:[^:]*: (.*)", line)
        if m: logged.append((m.group(1), m.group(2)))
        else: own.append(line)
    return own, logged
d_own, d_log = split(sys.argv[1])
r_own, r_log = split(sys.argv[2])
if d_own != r_own:
    sys.exit("xl's own messages differ: %r vs %r" % (d_own, r_own))
rest = iter(r_log)
for level, text in d_log:
    for r_level, r_text in rest:
        if r_level == level:
            break
    else:
        sys.exit("Debian's %s line %r has no counterpart in %r" % (level, text, r_log))
PY
}
# Each domain of the compare suite (domain 39, where xl itself crashes, is one of the
# divergences: checked by the case table above).
for d in $(xenstore-list /libxl | sort -n); do
    [ "$d" = 39 ] && continue
    check "xl channel-list $d" xl_both channel-list "$d"
done
check "xl channel-list of several domains" xl_both channel-list 30 31 32 35 36
check "xl channel-list of a domain name" xl_both channel-list driver-dom
check "xl channel-list of an unknown domain" xl_both channel-list 4242
check "xl channel-list without a domain" xl_both channel-list
# xl -N create: the whole xl config compatibility suite (27 cases, 600 random configs) also
# runs xl on the rebuilt library and requires the same output.
check "xl -N create over tests/xl_config_compat.rs" \
    env XLCHANNEL_REBUILT_LIBXL="$rebuilt" "${CARGO:-cargo}" test --quiet --release --locked \
        --test xl_config_compat

# --- The delegation refuses a source it no longer fits, with one line naming the place -------
moved_source() { # FILE ANCHOR-TEXT REPLACEMENT EXPECTED-MESSAGE
    local tree=$work/moved
    rm -rf "$tree"; mkdir -p "$tree/tools/libs/light"
    cp "$root/.deps/libxl/xen-src/tools/libs/light/"{libxl_console.c,libxl_create.c,libxl_dm.c,libxl_internal.h} \
        "$tree/tools/libs/light/"
    sed -i "s/$2/$3/" "$tree/tools/libs/light/$1"
    local msg status=0
    msg=$("$root/libxl/delegate-channels.py" "$tree" 2>&1) || status=$?
    [ "$status" -eq 1 ] && [ "$msg" = "$4" ] || { echo "status $status: $msg"; return 1; }
}
check "delegation: a channel function renamed upstream" moved_source libxl_console.c \
    '^int libxl_device_channel_getinfo(' 'int libxl_device_channel_info(' \
    "make libxl: delegating libxl's channel code failed: libxl_console.c: definition of libxl_device_channel_getinfo missing"
check "delegation: a channel loop rewritten upstream" moved_source libxl_create.c \
    'for (i = 0; i < d_config->num_channels; i++) {' 'for (int j = 0; j < d_config->num_channels; j++) {' \
    "make libxl: delegating libxl's channel code failed: libxl_create.c: anchor 'for (i = 0; i < d_config->num_channels; i++) {' missing"

# --- Inside libxl: the create-time channel code (libxl_test_channels.c) ----------------------
check "inside-libxl channel test (valgrind)" \
    env LD_LIBRARY_PATH="$rebuilt" LD_PRELOAD="$rebuilt/libxenlight_test.so $XLCHANNEL_XENSHIM" \
        valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
        "$build/test_libxl_channels"

echo "libxl-embedded: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
