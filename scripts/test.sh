#!/usr/bin/env bash
# Runs every test of the project: installs the Debian packages it needs
# (as root), checks formatting and vet, then `go test -race ./...`. Tests that
# need pcscd start their own private pcscd with the vpcd driver; with
# SSC_REQUIRE_PCSC=1 (set here) a missing PC/SC stack fails the run instead of
# skipping it; with SSC_REQUIRE_BROWSER=1 (set here too) so does a missing
# Chromium for the browser tests, and with SSC_REQUIRE_REDIS=1 a missing
# redis-server for the shared nonce store tests.
# After the unit tests, the ARM64 build (scripts/arm64.sh) is cross-compiled
# and smoke-tested under qemu-user.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ssc_need_go
ssc_install_deps
ssc_install_test_deps
ssc_build_vpcd16 # 16 readers for the many-reader tests and benchmarks (internal/pcsctest)
ssc_install_arm64_deps
export SSC_REQUIRE_PCSC=1
export SSC_REQUIRE_REDIS=1
export SSC_REQUIRE_BROWSER=1

echo "== gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...

echo "== portability: no cgo, Windows"
# The SDK packages and everything that does not need PC/SC build without cgo
# (reader/pcsc falls back to a stub that says so), and their tests run so.
CGO_ENABLED=0 go build ./...
CGO_ENABLED=0 go vet ./...
CGO_ENABLED=0 go test -count=1 ./apdu/... ./ccid/... ./sm/... ./reader/ ./sscard/... ./pboc/... ./link/... ./sscd/... \
	./internal/layers/
# Most bank counter PCs run Windows: the SDK and sscctl compile there
# (ebfe/scard talks to winscard.dll without cgo).
for arch in amd64 386; do
	GOOS=windows GOARCH=$arch go build ./apdu/... ./ccid/... ./sm/... ./reader/... ./sscard/... \
		./pboc/... ./link/... ./sscd/... ./cmd/sscctl
done

echo "== go test -race ./..."
# The hostile and fault tests record what they did here (internal/hostile).
# Kept after the run (like the test log) so the table can be rewritten from it.
hostile_log=/tmp/ssc-hostile.jsonl
rm -f "$hostile_log"
SSC_CHURN_LATER=1 SSC_HOSTILE_LOG=$hostile_log go test -race -count=1 -timeout 15m ./... 2>&1 | tee /tmp/ssc-test.log

echo "== churn: 16 readers, cards in and out while clients read (internal/scale)"
# On its own (SSC_CHURN_LATER above): its 16 card changes at a time should
# not share the machine with the rest of the suite.
SSC_HOSTILE_LOG=$hostile_log go test -race -count=1 -run '^TestChurnEvents$' ./internal/scale

echo "== ARM64: cross-build, smoke test under qemu-user (scripts/arm64.sh)"
./scripts/arm64.sh

echo "== fuzz: a short pass over a rotating third of the fuzz targets"
# Every target's seed corpus ran above; here a third of the targets (a
# different third each day) is fuzzed for FUZZTIME each (scripts/fuzz.sh).
FUZZTIME=${FUZZTIME:-2s} FUZZ_SHARD="$((10#$(date +%j) % 3))/3" ./scripts/fuzz.sh

echo "== docs/reliability.md: the table of hostile tests matches this run"
# UPDATE_RELIABILITY=1 rewrites the table instead of checking it; so does
# `SSC_HOSTILE_CHECK=/tmp/ssc-hostile.jsonl go test ./internal/hostile -run TestReliabilityTable -args -update`
# after a run.
SSC_HOSTILE_CHECK=$hostile_log go test -count=1 -run '^TestReliabilityTable$' ./internal/hostile \
	${UPDATE_RELIABILITY:+-args -update}

echo "== Debian packages: build (amd64 twice, arm64), lintian, install, run, upgrade, purge"
# Installs the packages on this machine, exercises the installed files and
# purges them again (scripts/package-test.sh).
./scripts/package-test.sh
