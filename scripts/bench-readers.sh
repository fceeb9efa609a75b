#!/usr/bin/env bash
# Reader-scaling benchmarks of sscd (issue #17): fresh basic-information
# reads and counter issuance over 1, 2, 4, 8 and 16 vpcd readers of one
# private pcscd (internal/scale), with cards that answer at once
# (latency=0: the host's CPU is the limit) and cards that take 1 ms and
# 5 ms per APDU (a card-bound deployment, as with real contact cards), then
# the plots of docs/benchmarks.md, drawn by internal/benchplot:
# throughput and p99 against readers at latency 0 (OUT, default
# docs/readers.png; the committed one also has the "before" line of an
# older run, see docs/benchmarks.md) and throughput, speed-up over one
# reader and p99 at every card latency (OUT_LATENCY, default
# docs/readers-latency.png).
# COUNT runs of each size (default 3; the plots take the medians), the raw
# output in OUT_TXT. BENCH narrows the sub-benchmarks (a -bench pattern).
# About 8 minutes with COUNT=3 (2-core VM). Run on an otherwise idle
# machine; figures are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ssc_need_go
ssc_install_deps
ssc_build_vpcd16
count=${COUNT:-3}
out=${OUT:-docs/readers.png}
out_lat=${OUT_LATENCY:-docs/readers-latency.png}
txt=${OUT_TXT:-$(mktemp)}
bench=${BENCH:-BenchmarkReaders}
SSC_REQUIRE_PCSC=1 go test -run '^$' -bench "$bench" -benchtime 2s -count "$count" -timeout 60m ./internal/scale | tee "$txt"
go run ./internal/benchplot -o "$out" -latency 0 "$txt"
go run ./internal/benchplot -o "$out_lat" -latency 0,1ms,5ms -speedup "$txt"
echo "plots: $out $out_lat, figures: $txt" >&2
