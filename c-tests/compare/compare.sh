#!/usr/bin/env bash
# Run the behaviour table against real libxenlight and against xlchannel (each in its own
# process, inside the real-xenstored test bed) and compare them case by case.
# Usage: compare.sh SUITE REAL_BINARY OUR_BINARY
# With REQUIRE_DIVERGENCES set, OUR_BINARY must give xlchannel's result on every listed
# divergence (a libxl result there means the call never reached xlchannel).
set -u
suite=$1 real_bin=$2 our_bin=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$real_bin" >"$out/real" 2>"$out/real.log" || { echo "real libxenlight run failed:"; cat "$out/real.log"; exit 1; }
"$our_bin" >"$out/ours" 2>"$out/ours.log" || { echo "xlchannel run failed:"; cat "$out/ours.log"; exit 1; }

# The only accepted differences are listed in c-tests/compare/divergences with both exact
# results ("LABEL<TAB>XLCHANNEL'S RESULT[<TAB>LIBXL'S RESULT]"); without a third column,
# libxl's result is that it crashes or aborts (ABORTED).
declare -A diverges=() libxl_result=()
while IFS=$'\t' read -r label result theirs; do
  case $label in ''|'#'*) continue ;; esac
  diverges[$label]=$result
  libxl_result[$label]=${theirs:-ABORTED}
done <"$(dirname "$0")/divergences"

passed=0 failed=0
if [ "$(wc -l <"$out/real")" -ne "$(wc -l <"$out/ours")" ]; then
  echo "the two runs printed different numbers of cases"
  failed=$((failed + 1))
fi
while IFS= read -r real_line && IFS= read -r our_line <&3; do
  label=${real_line%%: *}
  if [ "$real_line" = "$our_line" ] && [ -n "${diverges[$label]+x}" ] && [ -n "${REQUIRE_DIVERGENCES:-}" ]; then
    # The second library is meant to be xlchannel: where libxl aborts it must not.
    failed=$((failed + 1))
    printf 'SAME AS LIBXL %s (expected xlchannel'"'"'s %s)\n' "$label" "${diverges[$label]}"
  elif [ "$real_line" = "$our_line" ]; then
    passed=$((passed + 1))
  elif [ -n "${diverges[$label]+x}" ] && [ "$real_line" = "$label: ${libxl_result[$label]}" ] \
       && [ "$our_line" = "$label: ${diverges[$label]}" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    printf 'DIFFERS %s\n  libxl:      %s\n  xlchannel:  %s\n' "$label" "$real_line" "${our_line#*: }"
  fi
done <"$out/real" 3<"$out/ours"
echo "$suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
