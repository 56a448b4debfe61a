#!/usr/bin/env bash
# Run the bindings' README examples as written, inside the test bed (a fresh xenstored):
#   testbed/with-xenstored.sh --no-preload bindings/readme-examples.sh python|ocaml
# python: the ```python block of bindings/python/README.md, run from the top directory with
#         the guest (7, cloud-vm) and driver-dom (3) registered; it must exit 0.
# ocaml:  the ```ocaml block of bindings/ocaml/README.md must be example/channels.ml's text,
#         and every `$ channels.exe ARGS` line there, run in examples/ with cloud-vm
#         registered, must print exactly the lines under it (stdout and stderr).
# Prints `readme-examples-LANG: N passed, M failed`.
set -u
lang=${1:?usage: $0 python|ocaml}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -n "${XENSTORED_PATH:-}" ] || { echo "$0: run inside testbed/with-xenstored.sh --no-preload" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAILED: $*"; }

testbed/register-domain.sh 7 cloud-vm
testbed/register-domain.sh 3 driver-dom

# The lines between "```LANG" and the next "```" of a README.
mask_lines() { sed -E 's/(\.c):[0-9]+:/\1:LINE:/g'; }
block() { sed -n "/^\`\`\`$2\$/,/^\`\`\`\$/p" "$1" | sed '1d;$d'; }

case $lang in
python)
  block bindings/python/README.md python >"$work/example.py"
  [ -s "$work/example.py" ] && pass || fail "no python block in bindings/python/README.md"
  if PYTHONPATH=bindings/python /usr/bin/python3 "$work/example.py" >"$work/out" 2>&1; then
    pass
  else
    fail "the Python README example:"; cat "$work/out"
  fi
  ;;
ocaml)
  block bindings/ocaml/README.md ocaml >"$work/readme.ml"
  if [ -s "$work/readme.ml" ] && python3 -c 'import sys; a, b = (open(f).read() for f in sys.argv[1:]); sys.exit(a not in b)' \
       "$work/readme.ml" bindings/ocaml/example/channels.ml; then
    pass
  else
    fail "the README's OCaml block is not example/channels.ml's text"
  fi
  exe=${XLCHANNEL_OCAML_EXAMPLE:-$root/bindings/ocaml/_build/default/example/channels.exe}
  [ -x "$exe" ] || { echo "$0: $exe is missing; build it with dune build --root bindings/ocaml" >&2; exit 2; }
  # Each "$ channels.exe ARGS" line and the indented lines under it, up to the next "$ " or
  # a line that is not indented.
  python3 - bindings/ocaml/README.md "$work" <<'PY'
import sys, re, pathlib
text = pathlib.Path(sys.argv[1]).read_text().splitlines()
work = pathlib.Path(sys.argv[2])
n, i = 0, 0
while i < len(text):
    m = re.match(r"^    \$ channels\.exe ?(.*)$", text[i])
    i += 1
    if not m:
        continue
    out = []
    while i < len(text) and text[i].startswith("    ") and not text[i].startswith("    $ "):
        out.append(text[i][4:])
        i += 1
    (work / ("case%02d.args" % n)).write_text(m.group(1))
    (work / ("case%02d.want" % n)).write_text("".join(l + "\n" for l in out))
    n += 1
PY
  for args in "$work"/case*.args; do
    want=${args%.args}.want
    # shellcheck disable=SC2046 # the README's arguments are plain words
    (cd examples && "$exe" $(cat "$args")) >"$work/got" 2>&1
    # A log line's line number is xlchannel's own source line (src/log.rs), not part of
    # what the README shows a reader: it is compared as LINE.
    if cmp -s <(mask_lines <"$work/got") <(mask_lines <"$want"); then
      pass
    else
      fail "channels.exe $(cat "$args")"; diff "$want" "$work/got"
    fi
  done
  ;;
*) echo "usage: $0 python|ocaml" >&2; exit 2 ;;
esac
echo "readme-examples-$lang: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
