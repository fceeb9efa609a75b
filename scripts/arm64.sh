#!/usr/bin/env bash
# Cross-builds sscd, sscctl and libsscard.so for
# linux/arm64 — Kunpeng and Phytium machines — with Debian's cross toolchain
# and libpcsclite-dev:arm64 (multiarch), and runs a smoke test of the ARM64
# binaries under qemu-user:
#   - the software card in-process (`sscctl --reader sim info --hsm sim`, both
#     formats), output identical to the host (amd64) build's;
#   - sscd serving the software card on its Unix socket (the API read by curl);
#   - PC/SC: the ARM64 sscctl reads the (amd64) software card in a private
#     pcscd's vpcd reader through libpcsclite:arm64 and pcscd, the HSM step
#     crossing architectures, on an emulated CPU with and one without the
#     SM3/SM4 instructions;
#   - libsscard.so with the C example examples/c/readcard.c (SSC_READER=sim).
# Any failure fails the script; nothing is skipped silently.
#
# Usage: ./scripts/arm64.sh [--build-only] [OUTDIR]
#   OUTDIR keeps the ARM64 binaries (default: a temporary directory, removed).
#   --build-only cross-builds and checks the ELF headers, without qemu.
# Run as root on Debian 12 (installs the packages); scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

build_only=0
out=""
for a in "$@"; do
	case "$a" in
	--build-only) build_only=1 ;;
	-*) echo "usage: $0 [--build-only] [OUTDIR]" >&2; exit 2 ;;
	*) out=$a ;;
	esac
done

t0=$(date +%s)
ssc_need_go
ssc_install_deps
ssc_install_arm64_deps
t_install=$(($(date +%s) - t0))

work=$(mktemp -d)
if [ -z "$out" ]; then
	out="$work/out"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
pids=""
cleanup() {
	local p i
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $pids; do
		for i in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	ssc_stop_pcscd
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "arm64: FAIL: $*" >&2
	exit 1
}
step() { printf '\n== arm64: %s\n' "$*"; }

# The cross environment: cgo with the aarch64 compiler, and pkg-config
# (ebfe/scard's `#cgo pkg-config: libpcsclite`) looking only at the arm64
# multiarch directory, never at the host's .pc files.
cross() {
	CGO_ENABLED=1 CC=aarch64-linux-gnu-gcc GOOS=linux GOARCH=arm64 \
		PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig \
		"$@"
}

# qemu runs the binaries with the arm64 loader and C library of libc6:arm64
# (/lib/ld-linux-aarch64.so.1, /lib/aarch64-linux-gnu), which also hold
# libpcsclite.so.1. Not with -L /usr/aarch64-linux-gnu: that loader (from
# libc6-arm64-cross) then loads the multiarch libc.so.6 of another build, and
# the binary spins forever at start (measured). A hung binary fails the run.
QEMU_TIMEOUT=${SSC_QEMU_TIMEOUT:-120}
q() {
	timeout -k 5 "$QEMU_TIMEOUT" env -u QEMU_LD_PREFIX qemu-aarch64 "$@"
}

# A system sscd, if any, is not used: sscctl talks to the readers directly.
export SSC_SOCKET="$work/no-sscd.sock"

step "cross-build for linux/arm64 into $out"
t1=$(date +%s)
cross go build -o "$out/sscctl" ./cmd/sscctl || fail "sscctl does not cross-build for linux/arm64"
cross go build -o "$out/sscd" ./cmd/sscd || fail "sscd does not cross-build for linux/arm64"
have_lib=1
cross go build -buildmode=c-shared -o "$out/libsscard.so" ./cmd/libsscard ||
	fail "libsscard.so does not cross-build for linux/arm64"
t_build=$(($(date +%s) - t1))

for f in sscctl sscd $([ $have_lib = 1 ] && echo libsscard.so); do
	desc=$(file -b "$out/$f")
	echo "$f: $desc"
	case "$desc" in
	ELF\ 64-bit\ LSB\ *ARM\ aarch64*) ;;
	*) fail "$f is not an ARM aarch64 ELF" ;;
	esac
	# cgo PC/SC really linked, not the "built without PC/SC" stub.
	aarch64-linux-gnu-readelf -d "$out/$f" | ssc_has 'NEEDED.*\[libpcsclite\.so\.1\]' ||
		fail "$f does not link libpcsclite.so.1 (PC/SC stub built?)"
	echo "$f: needs glibc $(aarch64-linux-gnu-objdump -T "$out/$f" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 | sed 's/GLIBC_//') or newer"
done

if [ $build_only = 1 ]; then
	echo "arm64: built (--build-only: no smoke test); install ${t_install}s, cross-build ${t_build}s"
	exit 0
fi

t2=$(date +%s)
go build -o "$work/sscctl-host" ./cmd/sscctl
HOST="$work/sscctl-host"

step "software card in-process: ARM64 sscctl output equals the host build's"
for fmt in text bas; do
	args=(--reader sim info --hsm sim)
	[ $fmt = bas ] && args+=(--format bas)
	"$HOST" "${args[@]}" >"$work/host.$fmt"
	q "$out/sscctl" "${args[@]}" >"$work/arm64.$fmt" || fail "ARM64 sscctl ${args[*]} exited $?"
	cat "$work/arm64.$fmt"
	diff -u "$work/host.$fmt" "$work/arm64.$fmt" || fail "ARM64 and host output of sscctl ${args[*]} differ"
done
bas=$(cat "$work/host.bas")
case "$bas" in
*'|张三|'*) ;;
*) fail "unexpected iReadCardBas line: $bas" ;;
esac

step "sscd --help"
q "$out/sscd" --help >"$work/sscd.help" 2>&1 || fail "ARM64 sscd --help exited $?"
grep -q -- '--socket' "$work/sscd.help" || fail "ARM64 sscd --help printed no usage"
head -1 "$work/sscd.help"

step "ARM64 sscd serves the software card on its socket"
env -u QEMU_LD_PREFIX qemu-aarch64 "$out/sscd" --sim --hsm sim --socket "$work/sscd.sock" 2>"$work/sscd.log" &
sscd_pid=$!
pids="$pids $sscd_pid"
for i in $(seq 300); do
	[ -S "$work/sscd.sock" ] && break
	kill -0 "$sscd_pid" 2>/dev/null || { cat "$work/sscd.log" >&2; fail "ARM64 sscd exited"; }
	sleep 0.1
done
[ -S "$work/sscd.sock" ] || { cat "$work/sscd.log" >&2; fail "ARM64 sscd did not open its socket in 30 s"; }
# curl, not sscctl: `sscctl --reader sim` uses its own in-process card, never
# the daemon's.
curl -fsS --max-time 60 --unix-socket "$work/sscd.sock" 'http://sscd/v1/readers/sim/info?format=bas' >"$work/sscd.bas" ||
	{ cat "$work/sscd.log" >&2; fail "ARM64 sscd did not answer /v1/readers/sim/info"; }
cat "$work/sscd.bas"; echo
[ "$(cat "$work/sscd.bas")" = "$bas" ] || fail "iReadCardBas through sscd differs from the in-process one"

step "PC/SC: ARM64 sscctl, libpcsclite:arm64 and the host's private pcscd with vpcd"
port=$(ssc_free_port_pair)
ssc_start_pcscd "$work/pcscd" "$port"
# The card is the host (amd64) build: the HSM authentication then crosses
# architectures — the ARM64 side's SM4 cryptograms must convince the amd64
# card and the card's must verify on ARM64; an ARM64-only crypto defect
# could not hide behind the same defect on the card's side.
"$HOST" sim --vpcd "127.0.0.1:$port" --profile gen3 2>"$work/sim.log" &
sim_pid=$!
pids="$pids $sim_pid"
present=0
for i in $(seq 100); do
	if "$HOST" readers --json 2>/dev/null | grep -A2 '"Virtual PCD 00 00"' | ssc_has '"card_present": true'; then
		present=1
		break
	fi
	kill -0 "$sim_pid" 2>/dev/null || break
	sleep 0.1
done
[ $present = 1 ] || { cat "$work/sim.log" >&2; fail "the software card did not appear in vpcd"; }
q "$out/sscctl" readers | tee "$work/readers" || fail "ARM64 sscctl readers exited $?"
grep -q '^Virtual PCD 00 00 .*pcsc.*card' "$work/readers" || fail "ARM64 sscctl does not list the vpcd reader with its card"
# qemu's default CPU ("max") has the SM3/SM4 instructions, so gmsm takes its
# SM3/SM4-instruction code; a Cortex-A72 has AES/NEON but not those, so gmsm
# takes its other ARM64 code. Both must read the card.
for cpu in max cortex-a72; do
	q -cpu "$cpu" "$out/sscctl" --reader "Virtual PCD 00 00" info --hsm sim --format bas >"$work/pcsc.bas" ||
		fail "ARM64 sscctl (qemu -cpu $cpu) info through pcscd exited $?"
	echo "qemu -cpu $cpu: $(cat "$work/pcsc.bas")"
	[ "$(cat "$work/pcsc.bas")" = "$bas" ] || fail "iReadCardBas through pcscd (qemu -cpu $cpu) differs from the in-process one"
done

step "libsscard.so and the C example"
if [ $have_lib = 1 ]; then
	[ -f examples/c/readcard.c ] || fail "cmd/libsscard exists but examples/c/readcard.c does not"
	aarch64-linux-gnu-gcc -Wall -O2 -I cmd/libsscard -o "$out/readcard" examples/c/readcard.c \
		-L"$out" -lsscard -Wl,-rpath,'$ORIGIN' || fail "examples/c/readcard.c does not compile against libsscard.so for arm64"
	file -b "$out/readcard" | ssc_has 'ARM aarch64' || fail "readcard is not an ARM aarch64 ELF"
	# iType 3 (contact first) with the HSM step done by the configured SIM key
	# system, as the in-process sscctl read above did.
	SSC_READER=sim SSC_HSM=sim q "$out/readcard" 3 hsm >"$work/readcard.out" 2>"$work/readcard.err" ||
		{ rc=$?; cat "$work/readcard.out" "$work/readcard.err" >&2; fail "ARM64 readcard exited $rc"; }
	# GBK by default, like the vendor libraries: compare in UTF-8.
	iconv -f GBK -t UTF-8 "$work/readcard.out" >"$work/readcard.utf8" 2>/dev/null || cp "$work/readcard.out" "$work/readcard.utf8"
	if grep -qF -- "$bas" "$work/readcard.utf8"; then
		cat "$work/readcard.utf8"
	elif grep -qF -- "$bas" "$work/readcard.out"; then
		cat "$work/readcard.out" # the library was configured for UTF-8
	else
		cat "$work/readcard.out" "$work/readcard.err" >&2
		fail "readcard did not print the software card's iReadCardBas line ($bas)"
	fi
fi
t_smoke=$(($(date +%s) - t2))

echo
echo "arm64: OK — install ${t_install}s, cross-build ${t_build}s, smoke test under qemu ${t_smoke}s"
