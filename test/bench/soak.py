#!/usr/bin/env python3
"""soak.py OUT N MINUTES KIND FAILED: judge a soak (test/bench/run.sh's soak()).

Reads OUT/soak-samples.tsv (elapsed, process, RSS, anonymous RSS, open fds)
and OUT/soak-rounds.tsv (round, seconds to all Ready or "timeout"); prints
a Markdown report.  After a warm-up (the first fifth of the run), each
process's RSS and fd count must stay within 10% of their median, every
round must reach all Ready, and no reconcile may have failed.  Exit status
1 when a goal is missed.
"""
import csv
import statistics
import sys

out, n, minutes, kind, failed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
samples = list(csv.DictReader(open(f"{out}/soak-samples.tsv"), delimiter="\t"))
rounds = list(csv.DictReader(open(f"{out}/soak-rounds.tsv"), delimiter="\t"))
warm = minutes * 60 / 5
ok = True
print(f"# cflux soak: N={n} ({kind}), {minutes:g} min, one change of all N a minute\n")
print("| process | samples after warm-up | RSS MiB min / median / max | anonymous MiB median | fds min / median / max | flat (±10%) |")
print("|---|---|---|---|---|---|")
for proc in sorted({s["process"] for s in samples}):
    after = [s for s in samples if s["process"] == proc and float(s["elapsed"]) >= warm]
    if not after:
        print(f"| {proc} | 0 | - | - | - | no samples |")
        ok = False
        continue
    rss = [int(s["rss_kib"]) / 1024 for s in after]
    anon = [int(s["anon_kib"]) / 1024 for s in after]
    fds = [int(s["fds"]) for s in after]
    flat = all(abs(x - statistics.median(v)) <= 0.1 * statistics.median(v) + (1 if v is fds else 0)
               for v in (rss, fds) for x in v)
    ok = ok and flat
    print(f"| {proc} | {len(after)} | {min(rss):.1f} / {statistics.median(rss):.1f} / {max(rss):.1f} | "
          f"{statistics.median(anon):.1f} | {min(fds)} / {statistics.median(fds):g} / {max(fds)} | "
          f"{'yes' if flat else 'NO'} |")
times = [float(r["ready_s"]) for r in rounds if r["ready_s"] != "timeout"]
timeouts = sum(1 for r in rounds if r["ready_s"] == "timeout")
print()
print(f"Rounds: {len(rounds)}, all Ready in {min(times, default=0):.1f}-{max(times, default=0):.1f} s "
      f"(median {statistics.median(times) if times else 0:.1f} s), {timeouts} not all Ready in time.")
print(f"Failed reconciles in the log: {failed}.")
ok = ok and timeouts == 0 and failed == 0 and len(rounds) > 0
print(f"\nVerdict: {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
