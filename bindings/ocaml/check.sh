#!/bin/sh
# bindings/ocaml/check.sh: build the OCaml bindings and run their test once against the
# real xenstored of the test bed:
#     testbed/with-xenstored.sh --no-preload bindings/ocaml/check.sh
# Under valgrind when it is installed (XLCHANNEL_OCAML_VALGRIND=0 to skip it): the test's
# own checks, plus no definite leak and no invalid memory access anywhere in the process
# (test/valgrind.supp lists the OCaml runtime's own never-freed blocks). Exits with the
# test's status; its last line is "ocaml-bindings: N passed, M failed".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${XENSTORED_PATH:-}" ]; then
    echo "check.sh: no xenstored; run it inside testbed/with-xenstored.sh --no-preload" >&2
    exit 2
fi
timeout 600 dune build --root "$here" @all
exe=$here/_build/default/test/test_xlchannel.exe
if [ "${XLCHANNEL_OCAML_VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null 2>&1; then
    exec timeout 300 valgrind -q --error-exitcode=9 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite --suppressions="$here/test/valgrind.supp" "$exe"
fi
exec timeout 300 "$exe"
