#!/usr/bin/env bash
# long.sh: the long fuzzing campaign (`make fuzz-long`, issue #25).
#
#   make fuzz-long [FUZZ_RUNS=1000000] [FUZZ_MAX_TIME=1800] [FUZZ_TARGETS="yj untar"]
#
# Runs every libFuzzer binary `make fuzz` built under build/fuzz for
# FUZZ_RUNS executions (at most FUZZ_MAX_TIME seconds each), starting from
# a copy of its committed seeds (test/fuzz/corpus/<x>/), so what it finds
# stays in build/fuzz/long/corpus/<x>/ until someone commits it.  A crash,
# leak or timeout leaves its input in build/fuzz/long/crashes/<x>/: turn it
# into a corpus entry with the fix.  The figures go to
# build/fuzz/long/report.md (the README quotes them).  Exit status 1 when
# a target found something.
set -u
cd "$(dirname "$0")/../.."
RUNS=${FUZZ_RUNS:-1000000}
MAX=${FUZZ_MAX_TIME:-1800}
OUT=build/fuzz/long
mkdir -p "$OUT"
report=$OUT/report.md
{
	echo "# make fuzz-long ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, FUZZ_RUNS=$RUNS, FUZZ_MAX_TIME=${MAX}s)"
	echo
	echo "| target | executions | seconds | exec/s | corpus (seeds → end) | found |"
	echo "|---|---:|---:|---:|---|---|"
} >"$report"
found=0
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	x=${f##*/fuzz_}
	if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $x "* ]]; then
		continue
	fi
	corpus=$OUT/corpus/$x
	crashes=$OUT/crashes/$x
	mkdir -p "$corpus" "$crashes"
	[ -d "test/fuzz/corpus/$x" ] && cp -n test/fuzz/corpus/"$x"/* "$corpus"/ 2>/dev/null
	seeds=$(find "$corpus" -type f | wc -l)
	touch "$OUT/$x.start" # what an earlier run left in crashes/ is not this run's finding
	start=$(date +%s)
	"$f" "$corpus" -runs="$RUNS" -max_total_time="$MAX" -timeout=30 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$crashes/" >"$OUT/$x.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$x.log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$OUT/$x.log" | tail -n 1)
	end=$(find "$corpus" -type f | wc -l)
	what=none
	new=$(find "$crashes" -type f -newer "$OUT/$x.start" -printf '%f\n' | head -n 3 | paste -sd' ')
	if [ "$rc" -ne 0 ] || [ -n "$new" ]; then
		what="**${new:-no input saved}** (exit $rc; $OUT/$x.log)"
		found=1
	fi
	printf '| %s | %s | %s | %s | %s → %s | %s |\n' "$x" "${execs:-?}" "$secs" "${rate:-?}" \
		"$seeds" "$end" "$what" >>"$report"
	echo "fuzz-long: $x: ${execs:-?} executions in ${secs}s, $what" >&2
done
cat "$report"
exit "$found"
