#!/usr/bin/env bash
# The main job on the built-in software card: start a private pcscd with the
# vpcd virtual reader, insert the software social security card, and read it
# through the real PC/SC stack with sscctl: readers, events, ATR, the basic
# information (iReadCardBas) of a 3rd-gen card via the HSM two-step flow and
# of a 2nd-gen card, and the raw APDUs behind it; the bank application, the
# daemon with card linking and the browser bridge, and counter issuance of a
# blank card (write session, PKI personalisation).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ssc_need_go
ssc_install_deps

mkdir -p bin
go build -o bin/sscctl ./cmd/sscctl
go build -o bin/sscd ./cmd/sscd
SSCCTL=$PWD/bin/sscctl

work=$(mktemp -d)
port=$(ssc_free_port_pair)
sim_pid=""
serial_pid=""
watch_pid=""
sscd_pid=""
cleanup() {
	local p
	for p in $sscd_pid $sim_pid $watch_pid $serial_pid; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	ssc_stop_pcscd
	rm -rf "$work"
}
trap cleanup EXIT
ssc_start_pcscd "$work" "$port"
export SSC_READER="Virtual PCD 00 00"
# sscctl talks to the readers directly until the sscd step (a system sscd,
# if any, is not used).
export SSC_SOCKET="$work/no-sscd.sock"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

wait_card() { # wait until pcscd sees (1) or no longer sees (0) a card
	local i
	for i in $(seq 100); do
		if "$SSCCTL" readers --json | grep -A2 "\"$SSC_READER\"" | ssc_has "\"card_present\": $([ "$1" = 1 ] && echo true || echo false)"; then
			return 0
		fi
		sleep 0.1
	done
	echo "error: card state did not change to $1" >&2
	exit 1
}

step "private pcscd with the vpcd driver on port $port"
"$SSCCTL" watch >"$work/events" 2>&1 &
watch_pid=$!
run "$SSCCTL" readers

step "insert the third-generation software card (contact, T=0)"
"$SSCCTL" sim --vpcd "127.0.0.1:$port" --profile gen3 2>"$work/sim.log" &
sim_pid=$!
wait_card 1
run "$SSCCTL" readers
run "$SSCCTL" atr

step "basic information: a 3rd-gen card needs the HSM two-step authentication (software HSM here)"
run "$SSCCTL" info --partial --format bas
run "$SSCCTL" info --hsm sim
run "$SSCCTL" info --hsm sim --format bas --terminal 410100813475 --device 00000001

step "the same data as raw APDUs: SELECT SSSE (61xx + GET RESPONSE done by sscctl), EF05 by SFI, 6982 on the card number"
run "$SSCCTL" apdu 00A404000F7378312E73682EC9E7BBE1B1A3D5CF 00B2012C00 00B2032C00 00B2072C00

step "the same exchange without T=0 handling (--raw) and with the APDU trace"
run "$SSCCTL" --trace apdu --raw 00A404000F7378312E73682EC9E7BBE1B1A3D5CF 00C0000018

step "the card's PBOC 3.0 bank application (contact: PSE, GPO, records, SM2 DDA against the SIM payment CA)"
run "$SSCCTL" pboc apps
run "$SSCCTL" pboc read --oda
run "$SSCCTL" pboc balance
run "$SSCCTL" pboc log
run "$SSCCTL" tlv 6F5D8408A000000333010101A551500A50424F432044454249548701019F381B9F66049F02069F03069F1A0295055F2A029A039C019F3704DF69015F2D047A68656E9F1101019F120E556E696F6E506179204465626974BF0C059F4D020B0A

step "sscd owns the readers: sscctl goes through it; the e-card platform links the card (level 2)"
bridge_port=$(ssc_free_port_pair)
cat >"$work/sscd.yaml" <<EOF
socket: $work/sscd.sock
hsm: sim
pboc_ca_keys: sim
audit:
  path: $work/audit.log
bridge:
  port: $bridge_port
  origins: [http://localhost:8443]
  pin_origins: [http://localhost:8443]   # the counter page links cards with the PKI PIN
  allow_http_localhost: true
EOF
bin/sscd --config "$work/sscd.yaml" 2>"$work/sscd.log" &
sscd_pid=$!
export SSC_SOCKET="$work/sscd.sock"
for i in $(seq 100); do [ -S "$SSC_SOCKET" ] && break; sleep 0.1; done
run curl -s --unix-socket "$SSC_SOCKET" http://sscd/v1/readers
echo
run "$SSCCTL" info --hsm sim --format bas
nonce=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '$ %s\n' "echo 123456 | sscctl link create --level 2 --origin https://ecard.example.gov.cn --nonce $nonce --pin-stdin -o bundle.json"
echo 123456 | "$SSCCTL" link create --level 2 --origin https://ecard.example.gov.cn --nonce "$nonce" --pin-stdin -o "$work/bundle.json"
run "$SSCCTL" link verify "$work/bundle.json" --origin https://ecard.example.gov.cn --nonce "$nonce" --min-level 2
run "$SSCCTL" link verify "$work/bundle.json" --origin https://evil.example --nonce "$nonce" || true
step "the browser bridge: the counter page's origin may read the readers; any other site is refused"
run curl -s -H "Origin: http://localhost:8443" "http://127.0.0.1:$bridge_port/v1/readers"
echo
run curl -s -H "Origin: https://evil.example" "http://127.0.0.1:$bridge_port/v1/readers"
echo
run cat "$work/audit.log"
printf '$ %s\n' "curl -s --unix-socket $SSC_SOCKET http://sscd/metrics | grep '^sscd_operations_total'"
curl -s --unix-socket "$SSC_SOCKET" http://sscd/metrics | grep '^sscd_operations_total'
kill "$sscd_pid"; wait "$sscd_pid" 2>/dev/null || true
sscd_pid=""
export SSC_SOCKET="$work/no-sscd.sock"

step "the same card contactless: PPSE, qPBOC GPO with fDDA, an offline e-cash purchase of 12.50"
kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true
wait_card 0
"$SSCCTL" sim --vpcd "127.0.0.1:$port" --profile gen3 --mode contactless 2>>"$work/sim.log" &
sim_pid=$!
wait_card 1
run "$SSCCTL" pboc oda --amount 12.50
run "$SSCCTL" pboc balance
run "$SSCCTL" pboc log

step "remove it, insert the second-generation card: everything is readable"
kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true
wait_card 0
"$SSCCTL" sim --vpcd "127.0.0.1:$port" --profile gen2 2>>"$work/sim.log" &
sim_pid=$!
wait_card 1
run "$SSCCTL" info --all --json

step "counter issuance: a blank 3rd-gen card is written (write session, key system: software HSM) and its PKI application personalised"
kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true
wait_card 0
"$SSCCTL" sim --vpcd "127.0.0.1:$port" --profile gen3-blank 2>>"$work/sim.log" &
sim_pid=$!
wait_card 1
wi='411600D156000005005A3C9E17B2D40F|411600000000000000000001|20261201|20361201|B87654321|110101198512120035|王五||1|01|19851212|'
run "$SSCCTL" issue --write-info "$wi" --hsm sim --journal "$work/issue.journal"
run "$SSCCTL" issue status --journal "$work/issue.journal" --card-id 411600D156000005005A3C9E17B2D40F
run "$SSCCTL" info --hsm sim --format bas
run "$SSCCTL" pki personalise --hsm sim --journal "$work/issue.journal"
run "$SSCCTL" pki verify

step "a serial GemPC PinPad reader (emulated on a pty) read directly by sscctl, PIN typed on its keypad"
serial="serial:$work/ttyGemPC:GemPCPinPad"
"$SSCCTL" sim --pty "$work/ttyGemPC" --keypad "123456 OK" 2>>"$work/sim.log" &
serial_pid=$!
"$SSCCTL" --reader "$serial" watch --until card-inserted --timeout 10s >/dev/null
run "$SSCCTL" --reader "$serial" readers
run "$SSCCTL" --reader "$serial" info --hsm sim
run "$SSCCTL" --reader "$serial" pin verify --pinpad
kill "$serial_pid"; wait "$serial_pid" 2>/dev/null || true

step "events seen meanwhile by 'sscctl watch'"
kill "$watch_pid"; wait "$watch_pid" 2>/dev/null || true
watch_pid=""
cat "$work/events"
echo
echo "demo finished: the software card was read through pcscd + vpcd, directly and through sscd."
