#!/usr/bin/env bash
# Run the behaviour table against real libxenlight and against xlchannel (each in its own
# process, inside the real-xenstored test bed) and compare them case by case.
# Usage: compare.sh REAL_BINARY OUR_BINARY
set -u
real_bin=$1 our_bin=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$real_bin" >"$out/real" 2>"$out/real.log" || { echo "real libxenlight run failed:"; cat "$out/real.log"; exit 1; }
"$our_bin" >"$out/ours" 2>"$out/ours.log" || { echo "xlchannel run failed:"; cat "$out/ours.log"; exit 1; }

# Where libxl 4.17 aborts on an assertion (two union members selected), xlchannel returns
# ERROR_FAIL instead. These are the only accepted differences, each with its exact result.
declare -A diverges=(
  ["channel_from_json#58"]="rc=-3"
  ["info_from_json#58"]="rc=-3"
  ["channel_from_json_preset#58"]="rc=-3"
)

passed=0 failed=0
if [ "$(wc -l <"$out/real")" -ne "$(wc -l <"$out/ours")" ]; then
  echo "the two runs printed different numbers of cases"
  failed=$((failed + 1))
fi
while IFS= read -r real_line && IFS= read -r our_line <&3; do
  label=${real_line%%: *}
  if [ "$real_line" = "$our_line" ]; then
    passed=$((passed + 1))
  elif [ -n "${diverges[$label]+x}" ] && [ "$real_line" = "$label: ABORTED" ] \
       && [ "$our_line" = "$label: ${diverges[$label]}" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    printf 'DIFFERS %s\n  libxl:      %s\n  xlchannel:  %s\n' "$label" "$real_line" "${our_line#*: }"
  fi
done <"$out/real" 3<"$out/ours"
echo "compare-real: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
