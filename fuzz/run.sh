#!/usr/bin/env bash
# Build the libFuzzer targets of fuzz/ on the stable toolchain and run each one.
#
# Usage: fuzz/run.sh smoke|full [TARGET...]
#   smoke  every committed seed and regression input, then FUZZ_SMOKE_SECONDS (default 3) of
#          fuzzing per target; prints `fuzz-smoke: N passed, M failed`.
#   full   FUZZ_RUNS executions per target (default 1000000), or FUZZ_SECONDS seconds per
#          target when that is set; prints `fuzz: N passed, M failed`.
# Each target prints `fuzz TARGET: E executions in S s, F findings`. A finding (a panic, a
# failed property, a timeout or a memory blow-up) is saved under target/fuzz/artifacts/TARGET/
# and fails the run; turn it into a named regression test (CONTRIBUTING.md).
#
# fuzz/Cargo.lock pins the fuzzing crates and starts from the main crate's lock; it is not
# built with --locked, so a dependency the main crate gains is added to it, not an error.
# The coverage instrumentation is the one cargo-fuzz uses (sancov, 8-bit counters, compare
# tracing), passed as stable -C flags; --target keeps it away from build scripts.
set -u
cd "$(dirname "$0")"
mode=${1:-smoke}
shift || true
case $mode in smoke|full) ;; *) echo "usage: $0 smoke|full [TARGET...]" >&2; exit 2 ;; esac

ALL_TARGETS=(channel_json connection json_parse json_round_trip channel_spec xl_config)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")

triple=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/../target/fuzz}
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
build_log=$CARGO_TARGET_DIR/build.log
mkdir -p "$CARGO_TARGET_DIR"
if ! cargo build --release --target "$triple" --bins >"$build_log" 2>&1; then
  cat "$build_log"
  echo "fuzz/run.sh: building the fuzz targets failed"
  exit 1
fi
bin=$CARGO_TARGET_DIR/$triple/release

passed=0 failed=0
for t in "${targets[@]}"; do
  artifacts=$CARGO_TARGET_DIR/artifacts/$t
  work=$CARGO_TARGET_DIR/corpus/$t
  log=$CARGO_TARGET_DIR/$t.log
  mkdir -p "$artifacts" "$work"
  opts=(-dict="dicts/$t.dict" -artifact_prefix="$artifacts/" -timeout=10 -rss_limit_mb=2048
        -max_len="$(cat "max_len/$t" 2>/dev/null || echo 4096)" -print_final_stats=1)
  ok=1
  if [ "$mode" = smoke ]; then
    # Replay every committed input first: each is a regression test of its own.
    inputs=(corpus/"$t"/* regressions/"$t"/*)
    existing=()
    for f in "${inputs[@]}"; do [ -f "$f" ] && existing+=("$f"); done
    if [ ${#existing[@]} -gt 0 ] && ! "$bin/$t" "${opts[@]}" "${existing[@]}" >"$log.replay" 2>&1; then
      tail -30 "$log.replay"
      echo "fuzz $t: a committed input fails"
      ok=0
    fi
    budget=(-max_total_time="${FUZZ_SMOKE_SECONDS:-3}")
  elif [ -n "${FUZZ_SECONDS:-}" ]; then
    budget=(-max_total_time="$FUZZ_SECONDS")
  else
    budget=(-runs="${FUZZ_RUNS:-1000000}")
  fi
  before=$(find "$artifacts" -type f | wc -l)
  # New inputs go to the scratch corpus (first directory), never to the committed one.
  "$bin/$t" "${opts[@]}" "${budget[@]}" "$work" "corpus/$t" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  findings=$(( $(find "$artifacts" -type f | wc -l) - before ))
  if [ $rc -ne 0 ]; then
    ok=0
    [ "$findings" -gt 0 ] || findings=1
    tail -40 "$log"
  fi
  echo "fuzz $t: ${runs:-0} executions in ${secs:-?} s, $findings findings"
  if [ $ok = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
name=fuzz
[ "$mode" = smoke ] && name=fuzz-smoke
echo "$name: $passed passed, $failed failed"
[ $failed -eq 0 ]
