#!/usr/bin/env bash
# Run the bindings' README examples as written, inside the test bed (a fresh xenstored):
#   testbed/with-xenstored.sh --no-preload bindings/readme-examples.sh python|ocaml
# python: the ```python block of bindings/python/README.md, run from the top directory with
#         the guest (7, cloud-vm) and driver-dom (3) registered and a real qemu as the
#         guest's device model (QMP at $XLCHANNEL_RUN_DIR/qmp-libxl-7, the run dir a temp
#         dir), the block's socket path /run/xen/agent.sock moved into that temp dir; it must
#         exit 0 and leave no socket (it removes the channel it hot-added).
# ocaml:  the ```ocaml block of bindings/ocaml/README.md must be example/channels.ml's text,
#         and every `$ channels.exe ARGS` line there, run with cloud-vm registered and a real
#         qemu as its device model (as for python), must print exactly the lines under it
#         (stdout and stderr). They run in a copy of examples/ whose cloud-vm.cfg has its
#         socket directory /run/xen/ moved into the temp dir (qemu creates the socket there),
#         and that directory is shown as /run/xen/ again before the comparison.
# Prints `readme-examples-LANG: N passed, M failed`.
set -u
lang=${1:?usage: $0 python|ocaml}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -n "${XENSTORED_PATH:-}" ] || { echo "$0: run inside testbed/with-xenstored.sh --no-preload" >&2; exit 2; }
work=$(mktemp -d)
qemu_pid=
stop_qemu() {
  [ -n "$qemu_pid" ] || return 0
  kill "$qemu_pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$qemu_pid" 2>/dev/null
  wait "$qemu_pid" 2>/dev/null
  qemu_pid=
}
trap 'stop_qemu; rm -rf "$work"' EXIT
# qemu as domain 7's device model, its libxl QMP socket in $work (the run dir); 0 once the
# socket is there (at most 10 s).
start_qemu() {
  export XLCHANNEL_RUN_DIR=$work
  "${XLCHANNEL_QEMU:-qemu-system-x86_64}" -machine none -nodefaults -display none \
    -qmp "unix:$work/qmp-libxl-7,server=on,wait=off" </dev/null >"$work/qemu.log" 2>&1 &
  qemu_pid=$!
  for _ in $(seq 100); do [ -S "$work/qmp-libxl-7" ] && return 0; sleep 0.1; done
  fail "qemu made no QMP socket in 10 s:"; cat "$work/qemu.log"
  return 1
}
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
  [ -s "$work/example.py" ] && grep -q '"/run/xen/agent.sock"' "$work/example.py" && pass ||
    fail "no python block with the agent's socket path in bindings/python/README.md"
  sed -i "s|\"/run/xen/agent.sock\"|\"$work/agent.sock\"|" "$work/example.py"
  if ! start_qemu; then
    :
  elif PYTHONPATH=bindings/python /usr/bin/python3 "$work/example.py" >"$work/out" 2>&1; then
    pass
    [ ! -e "$work/agent.sock" ] && pass || fail "the removed channel's socket is still there"
  else
    fail "the Python README example:"; cat "$work/out"
  fi
  stop_qemu
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
  mkdir "$work/examples" "$work/run"
  sed "s|/run/xen/|$work/run/|g" examples/cloud-vm.cfg >"$work/examples/cloud-vm.cfg"
  start_qemu || { echo "readme-examples-$lang: $passed passed, $failed failed"; exit 1; }
  for args in "$work"/case*.args; do
    want=${args%.args}.want
    # shellcheck disable=SC2046 # the README's arguments are plain words
    (cd "$work/examples" && "$exe" $(cat "$args")) 2>&1 | sed "s|$work/run/|/run/xen/|g" >"$work/got"
    # A log line's line number is xlchannel's own source line (src/log.rs), not part of
    # what the README shows a reader: it is compared as LINE.
    if cmp -s <(mask_lines <"$work/got") <(mask_lines <"$want"); then
      pass
    else
      fail "channels.exe $(cat "$args")"; diff "$want" "$work/got"
    fi
  done
  stop_qemu
  ;;
*) echo "usage: $0 python|ocaml" >&2; exit 2 ;;
esac
echo "readme-examples-$lang: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
