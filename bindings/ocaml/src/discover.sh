#!/bin/sh
# discover.sh: where the xlchannel build tree is, for dune.
# Writes c_flags.sexp and c_library_flags.sexp, and copies the C header next to the stubs
# so that they are compiled against the header the library was built with.
# The tree is $XLCHANNEL_ROOT, or else the first directory above this one holding
# include/libxl_channel.h (dune runs this from inside bindings/ocaml/_build).
set -eu
root=${XLCHANNEL_ROOT:-}
if [ -z "$root" ]; then
    d=$(pwd -P)
    while [ "$d" != / ]; do
        if [ -f "$d/include/libxl_channel.h" ] && [ -f "$d/Cargo.toml" ]; then root=$d; break; fi
        d=$(dirname "$d")
    done
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
