#!/usr/bin/env bash
# Reader-scaling benchmarks of sscd (issue #17): fresh basic-information
# reads and counter issuance over 1, 2, 4, 8 and 16 vpcd readers of one
# private pcscd (internal/scale), then the plot of docs/benchmarks.md
# (throughput and p99 against readers), drawn by internal/benchplot.
# COUNT runs of each size (default 3; the plot takes the medians), the raw
# output in OUT_TXT, the plot in OUT (default docs/readers.png).
# Run on an otherwise idle machine; figures are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ssc_need_go
ssc_install_deps
ssc_build_vpcd16
count=${COUNT:-3}
out=${OUT:-docs/readers.png}
txt=${OUT_TXT:-$(mktemp)}
SSC_REQUIRE_PCSC=1 go test -run '^$' -bench 'BenchmarkReaders' -benchtime 2s -count "$count" ./internal/scale | tee "$txt"
go run ./internal/benchplot -o "$out" "$txt"
echo "plot: $out, figures: $txt" >&2
