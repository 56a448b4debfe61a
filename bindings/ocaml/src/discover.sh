#!/bin/sh
# discover.sh: where the xlchannel library is, for dune.
# Writes c_flags.sexp and c_library_flags.sexp, and copies the C header next to the stubs
# so that they are compiled against the header the library was built with.
# With XLCHANNEL_USE_PKG_CONFIG=1, or outside an xlchannel tree when pkg-config knows
# xlchannel: the installed library, through `pkg-config xlchannel` (PKG_CONFIG_PATH and
# PKG_CONFIG_SYSROOT_DIR honoured), with an rpath to its directory. Otherwise the build
# tree: $XLCHANNEL_ROOT, or else the first directory above this one holding
# include/libxl_channel.h (dune runs this from inside bindings/ocaml/_build).
set -eu
use_pkg_config() {
    # pkgconf puts PKG_CONFIG_SYSROOT_DIR before variables; the original pkg-config does not.
    sysroot=${PKG_CONFIG_SYSROOT_DIR:-}
    incdir=$(pkg-config --variable=includedir xlchannel)
    libdir=$(pkg-config --variable=libdir xlchannel)
    case $incdir in "$sysroot"/*) ;; *) incdir=$sysroot$incdir ;; esac
    case $libdir in "$sysroot"/*) ;; *) libdir=$sysroot$libdir ;; esac
    cp "$incdir/libxl_channel.h" libxl_channel.h
    printf '(-std=gnu11 -Wall -Wextra -Werror %s)\n' "$(pkg-config --cflags xlchannel)" > c_flags.sexp
    printf '(%s -Wl,-rpath,%s)\n' "$(pkg-config --libs xlchannel)" "$libdir" > c_library_flags.sexp
    exit 0
}
if [ "${XLCHANNEL_USE_PKG_CONFIG:-0}" = 1 ]; then
    pkg-config --exists xlchannel || { echo "discover.sh: pkg-config does not know xlchannel" >&2; exit 1; }
    use_pkg_config
fi
root=${XLCHANNEL_ROOT:-}
if [ -z "$root" ]; then
    d=$(pwd -P)
    while [ "$d" != / ]; do
        if [ -f "$d/include/libxl_channel.h" ] && [ -f "$d/Cargo.toml" ]; then root=$d; break; fi
        d=$(dirname "$d")
    done
fi
if [ -z "$root" ] && pkg-config --exists xlchannel 2>/dev/null; then
    use_pkg_config
fi
if [ -z "$root" ] || [ ! -f "$root/include/libxl_channel.h" ]; then
    echo "discover.sh: cannot find the xlchannel tree (include/libxl_channel.h); set XLCHANNEL_ROOT" >&2
    exit 1
fi
root=$(cd "$root" && pwd -P)
lib=$root/target/release
if [ ! -e "$lib/libxlchannel.so" ]; then
    echo "discover.sh: $lib/libxlchannel.so is missing; run 'make build' in $root first" >&2
    exit 1
fi
cp "$root/include/libxl_channel.h" libxl_channel.h
printf '(-std=gnu11 -Wall -Wextra -Werror)\n' > c_flags.sexp
printf '(-L%s -lxlchannel -Wl,-rpath,%s)\n' "$lib" "$lib" > c_library_flags.sexp
