#!/usr/bin/env bash
# Reproduces the figures of docs/benchmarks.md: the SDK's own cost per APDU
# (apdu), the software card (sim), and one APDU round trip through the
# in-process card, through pcscd+vpcd from Go, and through pcscd+vpcd from a
# plain C libpcsclite loop (bench/pcscloop.c) on the same reader.
# Run on an otherwise idle machine; figures are noisy (±20 %).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ssc_need_go
ssc_install_deps
count=${COUNT:-3}
go test -run "^$" -bench . -benchmem -count "$count" ./apdu ./sim
go test -run "^$" -bench . -benchmem -count "$count" -cpu 1 ./sm
go test -run '^$' -bench 'BenchmarkTransmit' -benchmem -benchtime 20000x -count "$count" ./reader/pcsc
go test -run '^$' -bench 'BenchmarkInfoPCSC' -benchmem -benchtime 500x -count "$count" ./sscard
go test -run '^$' -bench 'BenchmarkRead' -benchmem -benchtime 200x -count "$count" ./pboc
go test -run '^$' -bench 'BenchmarkTransmitSerial' -benchmem -benchtime 3000x -count "$count" ./reader/serial ./sim/gempc
SSC_REQUIRE_PCSC=1 go test -run '^$' -bench 'BenchmarkE2EInfo' -benchtime 1000x -count "$count" ./internal/daemon
# Reader scaling (issue #17) and its plot: scripts/bench-readers.sh (OUT=docs/readers.png).
go test -run '^$' -bench 'BenchmarkIdleRSS|BenchmarkLoadRSS' -benchtime 1x -count "$count" ./cmd/sscd
go test -run '^$' -bench . -benchmem -count "$count" ./internal/audit
# OpenSSL on the same machine, for the comparison tables.
openssl speed -seconds 3 sm2 2>/dev/null | tail -2
for c in sm4-cbc des-ede3-cbc; do for n in 16 256 4096; do
	openssl speed -elapsed -evp "$c" -bytes "$n" -seconds 2 2>/dev/null | tail -1
done; done
