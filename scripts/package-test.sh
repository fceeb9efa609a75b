#!/usr/bin/env bash
# Builds the Debian packages, checks them with lintian, installs them on this
# machine and exercises the installed files only (scripts/test.sh runs it; as
# root). What it proves:
#
#   - building twice (the second time from a clone in another directory)
#     gives byte-identical packages; the arm64 packages are arm64 and their
#     ELF files aarch64 (and sscctl runs under qemu);
#   - lintian finds no error or warning;
#   - an older version installs (apt-get install ./dist/*.deb): the user and
#     group sscd, the modes and owners of /etc/sscd, /var/log/sscd and, once
#     started, /run/sscd; `systemd-analyze verify` accepts the unit;
#   - the daemon starts the way its unit says (the ExecStartPre check, then
#     ExecStart as User/Group/SupplementaryGroups with the unit's UMask, in
#     the RuntimeDirectory/LogsDirectory made with the unit's modes), with a
#     private pcscd holding the software card (installed `sscctl sim`);
#     the installed sscctl, as a member of group sscd, reads the card
#     through /run/sscd/sscd.sock; a user outside the group cannot;
#   - a C program built with `pkg-config --cflags --libs sscard` loads the
#     installed library;
#   - the upgrade to this version keeps the changed configuration and the
#     audit log, and restarts the daemon;
#   - removal stops the daemon and keeps configuration and audit log; purge
#     removes them (the user stays, as documented in deploy/debian/sscd.postrm).
#
# There is no systemd on the CI machine: the script plays its part. The
# maintainer scripts run in a private mount namespace where
# /run/systemd/system exists (so they take the systemd branch) and where
# systemctl and deb-systemd-invoke are stand-ins that log the request and
# start/stop the daemon as above. Afterwards everything is purged and the
# user removed, so a rerun and the other tests see a clean machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
umask 022

unit=/lib/systemd/system/sscd.service
state=${SSC_PKGTEST_STATE:-/run/ssc-package-test}

# unit_get KEY: the value of KEY= in the installed unit (the last one).
unit_get() { sed -n "s/^$1=//p" "$unit" | tail -1; }

# run_as_unit CMD...: exec CMD as the unit's user, groups and umask, with
# no capabilities and no new privileges, from /, with the daemon's
# environment. Call it in a subshell: it replaces the shell.
run_as_unit() {
	local groups
	groups=$(unit_get Group)
	[ -z "$(unit_get SupplementaryGroups)" ] || groups="$groups,$(unit_get SupplementaryGroups | tr ' ' ',')"
	cd /
	umask "$(unit_get UMask)"
	exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin PCSCLITE_CSOCK_NAME="$(cat "$state/pcscd.sock")" \
		setpriv --reuid="$(unit_get User)" --regid="$(unit_get Group)" --groups="$groups" \
		--inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
}

# unit_start: what systemd does for `systemctl start sscd`.
unit_start() {
	local user group pre start i
	user=$(unit_get User) group=$(unit_get Group)
	# RuntimeDirectory= and LogsDirectory= with their modes, owned by the user.
	install -d -o "$user" -g "$group" -m "$(unit_get RuntimeDirectoryMode)" "/run/$(unit_get RuntimeDirectory)"
	install -d -o "$user" -g "$group" -m "$(unit_get LogsDirectoryMode)" "/var/log/$(unit_get LogsDirectory)"
	chown -R "$user:$group" "/var/log/$(unit_get LogsDirectory)"
	read -r -a pre <<<"$(unit_get ExecStartPre)"
	read -r -a start <<<"$(unit_get ExecStart)"
	case "${pre[0]}${start[0]}" in /*/*) ;; *) echo "unit: unexpected Exec prefix" >&2; return 1 ;; esac
	(run_as_unit "${pre[@]}") >>"$state/sscd.log" 2>&1 || { echo "ExecStartPre failed:" >&2; cat "$state/sscd.log" >&2; return 1; }
	(run_as_unit "${start[@]}") >>"$state/sscd.log" 2>&1 &
	echo $! >"$state/sscd.pid"
	for i in $(seq 100); do
		[ -S /run/sscd/sscd.sock ] && return 0
		kill -0 "$(cat "$state/sscd.pid")" 2>/dev/null || break
		sleep 0.1
	done
	echo "sscd did not start; its log:" >&2
	cat "$state/sscd.log" >&2
	return 1
}

# unit_stop: KillSignal=SIGTERM, wait TimeoutStopSec, remove the
# RuntimeDirectory. The daemon must have removed its socket itself.
unit_stop() {
	local pid i
	[ -f "$state/sscd.pid" ] || return 0
	pid=$(cat "$state/sscd.pid")
	rm -f "$state/sscd.pid"
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		echo "sscd ignored SIGTERM for 20 s" >&2
		return 1
	fi
	if [ -e /run/sscd/sscd.sock ]; then
		echo "sscd left its socket behind" >&2
		return 1
	fi
	rm -rf "/run/$(unit_get RuntimeDirectory)"
}

# The stand-ins the maintainer scripts call (see the header).
case "${1:-}" in
--systemctl)
	shift
	echo "systemctl $*" >>"$state/systemd.log"
	exit 0
	;;
--deb-systemd-invoke)
	shift
	echo "deb-systemd-invoke $*" >>"$state/systemd.log"
	[ "${2:-}" = sscd.service ] || exit 0
	case "$1" in
	start) unit_start ;;
	stop) unit_stop ;;
	restart) unit_stop && unit_start ;;
	esac
	exit $?
	;;
esac

[ "$(id -u)" = 0 ] || { echo "error: scripts/package-test.sh installs packages: run it as root" >&2; exit 1; }
ssc_need_go
ssc_install_deps
SSC_DEBIAN_PACKAGES="lintian dpkg-dev file systemd util-linux" ssc_install_deps
began=$(date +%s)

all_pkgs="sscd sscctl libsscard1 libsscard-dev"
pkgs=$all_pkgs
# A previous run that was killed leaves its marker; anything else named sscd
# is not ours to purge.
if [ ! -e "$state/marker" ]; then
	if dpkg-query -W -f='${Status}\n' $all_pkgs 2>/dev/null | ssc_has "installed" || getent passwd sscd >/dev/null ||
		getent group sscd >/dev/null; then
		echo "error: sscd is installed or the user/group sscd exists; this test installs and purges them" >&2
		exit 1
	fi
fi

work=$(mktemp -d -t ssc-pkgtest.XXXXXX)
cleanup() {
	local rc=$?
	set +e
	unit_stop 2>/dev/null
	[ -z "${sim_pid:-}" ] || kill "$sim_pid" 2>/dev/null
	ssc_stop_pcscd
	installed=$(dpkg-query -W -f='${Package} ${Status}\n' $all_pkgs 2>/dev/null | awk '$NF != "not-installed" {print $1}')
	[ -z "$installed" ] ||
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq -o DPkg::Lock::Timeout=300 $installed >/dev/null 2>&1
	getent passwd sscd >/dev/null && userdel sscd
	getent group sscd >/dev/null && groupdel sscd
	rm -rf /etc/sscd /var/log/sscd /run/sscd "$state" "$work"
	echo "== package test: $(($(date +%s) - began)) s"
	exit $rc
}
trap cleanup EXIT
mkdir -p "$state"
touch "$state/marker"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
step() { echo "== $*"; }
apt_install() { # DEBS...
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "$@" \
		>"$state/apt.log" 2>&1 || { cat "$state/apt.log" >&2; fail "apt-get install $*"; }
}
# as_systemd CMD...: CMD where the maintainer scripts see a running systemd
# (the stand-ins above).
as_systemd() {
	local shims="$work/shims"
	mkdir -p "$shims"
	printf '#!/bin/sh\nexec %q --systemctl "$@"\n' "$PWD/scripts/package-test.sh" >"$shims/systemctl"
	printf '#!/bin/sh\nexec %q --deb-systemd-invoke "$@"\n' "$PWD/scripts/package-test.sh" >"$shims/deb-systemd-invoke"
	chmod 0755 "$shims"/*
	# apt runs dpkg with a PATH of its own (DPkg::Path).
	[ "$1" != apt-get ] || set -- "$1" -o "DPkg::Path=$shims:/usr/sbin:/usr/bin:/sbin:/bin" "${@:2}"
	SSC_PKGTEST_STATE=$state PATH="$shims:$PATH" unshare -m --propagation private \
		sh -c 'mkdir -p /run/systemd && mount -t tmpfs -o mode=0755 tmpfs /run/systemd &&
			mkdir /run/systemd/system && exec "$@"' sh "$@"
}

step "build: this version twice (the second from a clone elsewhere), an older one, arm64"
./scripts/package.sh
version=$(dpkg-deb -f dist/sscd_*_amd64.deb Version)
for p in $pkgs; do
	[ -f "dist/${p}_${version}_amd64.deb" ] || fail "dist/${p}_${version}_amd64.deb was not built"
done
if [ -z "$(git status --porcelain --untracked-files=no)" ]; then
	git clone -q --shared --no-checkout . "$work/clone"
	git -C "$work/clone" checkout -q "$(git rev-parse HEAD)"
	(cd "$work/clone" && DIST="$work/dist2" ./scripts/package.sh >/dev/null)
else
	echo "(modified tree: the second build runs here)"
	DIST="$work/dist2" ./scripts/package.sh >/dev/null
fi
(cd dist && sha256sum -- *_"$version"_amd64.deb) >"$work/sums"
(cd "$work/dist2" && sha256sum -c --quiet "$work/sums") || fail "two builds of one commit differ"
old="0.0~~pkgtest"
dpkg --compare-versions "$old" lt "$version" || fail "$old is not older than $version"
DEB_VERSION=$old DIST="$work/dist-old" ./scripts/package.sh >/dev/null
ARCH=arm64 DIST="$work/dist-arm64" ./scripts/package.sh >/dev/null

step "arm64 packages: architecture and contents"
for p in $pkgs; do
	deb="$work/dist-arm64/${p}_${version}_arm64.deb"
	[ "$(dpkg-deb -f "$deb" Architecture)" = arm64 ] || fail "$deb: not Architecture arm64"
	dpkg-deb -x "$deb" "$work/arm64"
done
dpkg-deb --contents "$work/dist-arm64/sscd_${version}_arm64.deb" >"$work/contents"
grep -q ' ./usr/sbin/sscd$' "$work/contents" || fail "arm64 sscd lacks /usr/sbin/sscd"
elfs="usr/sbin/sscd usr/bin/sscctl"
elfs="$elfs usr/lib/aarch64-linux-gnu/libsscard.so.1"
for f in $elfs; do
	file -b "$work/arm64/$f" | ssc_has 'ELF 64-bit LSB .*ARM aarch64' || fail "$f: $(file -b "$work/arm64/$f")"
done
[ "$(readlink "$work/arm64/usr/lib/aarch64-linux-gnu/libsscard.so")" = libsscard.so.1 ] || fail "arm64 libsscard.so link"
grep -q '^libdir=${prefix}/lib/aarch64-linux-gnu$' "$work/arm64/usr/lib/aarch64-linux-gnu/pkgconfig/sscard.pc" ||
	fail "arm64 sscard.pc libdir"
qemu-aarch64 "$work/arm64/usr/bin/sscctl" --direct version >"$work/arm64.version"
grep -q "^sscctl $(git describe --tags --always --dirty) (commit $(git rev-parse HEAD)" "$work/arm64.version" ||
	fail "arm64 sscctl under qemu does not report this version"

step "lintian"
lintian --fail-on error,warning --suppress-tags spelling-error-in-binary \
	dist/*_"$version"_amd64.deb "$work/dist-arm64"/*.deb || fail "lintian"

step "install the older version: apt-get install ./dist/*.deb"
pcsc="$work/pcsc"
port=$(ssc_free_port_pair)
ssc_start_pcscd "$pcsc" "$port"
chmod 0755 "$work" "$pcsc" "$pcsc/run"
echo "$PCSCLITE_CSOCK_NAME" >"$state/pcscd.sock"
apt_install "$work/dist-old"/*.deb
[ "$(dpkg-query -W -f='${Version}' sscd)" = "$old" ] || fail "sscd $old is not installed"

step "installed files: user, owners and modes"
getent passwd sscd | ssc_has ':/nonexistent:/usr/sbin/nologin$' || fail "user sscd: $(getent passwd sscd)"
[ "$(id -gn sscd)" = sscd ] || fail "primary group of sscd"
check_stat() { # PATH OWNER:GROUP MODE
	local got
	got=$(stat -c '%U:%G %a' "$1") || fail "$1 missing"
	[ "$got" = "$2 $3" ] || fail "$1 is $got, want $2 $3"
}
check_stat /etc/sscd root:root 755
check_stat /etc/sscd/sscd.yaml root:root 644
check_stat /var/log/sscd sscd:sscd 750
check_stat /usr/sbin/sscd root:root 755
check_stat "$unit" root:root 644
dpkg-query -W -f='${Conffiles}\n' sscd | ssc_has '^ /etc/sscd/sscd.yaml ' || fail "sscd.yaml is not a conffile"
[ -L /etc/systemd/system/multi-user.target.wants/sscd.service ] || fail "sscd.service is not enabled"
[ -f /usr/share/bash-completion/completions/sscctl ] && [ -f /usr/share/man/man1/sscctl.1.gz ] &&
	[ -f /usr/share/man/man8/sscd.8.gz ] || fail "man pages or completion missing"

step "systemd-analyze verify $unit"
systemd-analyze verify "$unit" >"$work/verify.log" 2>&1 || { cat "$work/verify.log" >&2; fail "systemd-analyze verify"; }
! grep . "$work/verify.log" || fail "systemd-analyze verify has remarks"

step "changed configuration: the HSM (the read below needs it) and a terminal number"
sed -i -e 's/^hsm: ""$/hsm: sim/' -e 's/^terminal_no: ""$/terminal_no: "410100813475"/' /etc/sscd/sscd.yaml
grep -q '^hsm: sim$' /etc/sscd/sscd.yaml || fail "could not change the configuration"

step "start as the unit does, the software card in the private pcscd"
/usr/bin/sscctl sim --vpcd "127.0.0.1:$port" --profile gen3 2>"$work/sim.log" &
sim_pid=$!
unit_start
check_stat /run/sscd sscd:sscd 750
check_stat /run/sscd/sscd.sock sscd:sscd 660
[ "$(ps -o user=,group=,comm= -p "$(cat "$state/sscd.pid")")" = "sscd     sscd     sscd" ] ||
	fail "sscd does not run as user and group sscd: $(ps -o user=,group=,comm= -p "$(cat "$state/sscd.pid")")"

# read_card: the installed sscctl, as a member of group sscd, through the
# daemon (the daemon's version in `sscctl version` shows it answered).
nobody_in_sscd() { setpriv --reuid=nobody --regid=nogroup --groups="$(getent group sscd | cut -d: -f3)" -- "$@"; }
read_card() {
	local i
	for i in $(seq 50); do
		nobody_in_sscd /usr/bin/sscctl --reader "Virtual PCD 00 00" info --hsm sim --format bas >"$work/bas" 2>"$work/bas.err" && break
		sleep 0.2
	done
	grep -q '^411600|411602199001011232|.*|张三|' "$work/bas" || { cat "$work/bas" "$work/bas.err" >&2; fail "card not read through sscd"; }
	nobody_in_sscd /usr/bin/sscctl version | ssc_has "^sscd " || fail "sscctl did not reach the daemon"
}
read_card
grep -q '"client":"uid:65534","op":"info"' /var/log/sscd/audit.log || fail "no audit line for the read"
check_stat /var/log/sscd/audit.log sscd:sscd 600
if setpriv --reuid=nobody --regid=nogroup --clear-groups -- /usr/bin/sscctl version 2>&1 | ssc_has "^sscd "; then
	fail "a user outside group sscd reached the daemon"
fi

step "C program: pkg-config --cflags --libs sscard"
cat >"$work/load.c" <<'EOF'
#include <sscard.h>
#include <stdio.h>
int main(void) { puts("libsscard loaded"); return 0; }
EOF
# shellcheck disable=SC2046
gcc -o "$work/load" "$work/load.c" -Wl,--no-as-needed $(pkg-config --cflags --libs sscard) || fail "compile against sscard.pc"
ldd "$work/load" >"$work/ldd" 2>&1 || true
grep -Eq "libsscard.so.1 => (/usr)?/lib/x86_64-linux-gnu/libsscard.so.1 " "$work/ldd" || { cat "$work/ldd" >&2; fail "libsscard.so.1 not from /usr/lib"; }
"$work/load" | ssc_has "libsscard loaded" || fail "the C program did not run with the library"
# The example, as a hospital program would run it: through the installed
# daemon's socket (the library's default), the HSM step answered by the
# configured SIM key system.
# shellcheck disable=SC2046
gcc -o "$work/readcard" examples/c/readcard.c $(pkg-config --cflags --libs sscard) || fail "examples/c/readcard.c"
nobody_in_sscd env SSC_READER="Virtual PCD 00 00" SSC_HSM=sim "$work/readcard" 1 hsm >"$work/readcard.out" 2>&1 ||
	{ cat "$work/readcard.out" >&2; fail "readcard through the installed library and sscd"; }
iconv -f GBK -t UTF-8 "$work/readcard.out" | ssc_has '^411600|411602199001011232|.*|张三|' ||
	{ cat "$work/readcard.out" >&2; fail "readcard did not print the card's iReadCardBas line"; }

step "upgrade to $version keeps the changed configuration and the audit log"
audit_before=$(wc -l </var/log/sscd/audit.log)
key_before=$(sha256sum </var/log/sscd/audit.key)
as_systemd apt-get install -y -qq -o DPkg::Lock::Timeout=300 ./dist/*_"$version"_amd64.deb >"$state/apt.log" 2>&1 ||
	{ cat "$state/apt.log" >&2; fail "upgrade"; }
[ "$(dpkg-query -W -f='${Version}' sscd)" = "$version" ] || fail "sscd was not upgraded"
grep -q '^deb-systemd-invoke restart sscd.service$' "$state/systemd.log" || fail "the upgrade did not restart sscd"
grep -q '^hsm: sim$' /etc/sscd/sscd.yaml && grep -q '^terminal_no: "410100813475"$' /etc/sscd/sscd.yaml ||
	fail "the upgrade lost the changed configuration"
[ "$(wc -l </var/log/sscd/audit.log)" -ge "$audit_before" ] || fail "the upgrade lost audit lines"
[ "$(sha256sum </var/log/sscd/audit.key)" = "$key_before" ] || fail "the upgrade replaced the audit key"
read_card
[ "$(wc -l </var/log/sscd/audit.log)" -gt "$audit_before" ] || fail "no audit line after the upgrade"
/usr/sbin/sscd --version | ssc_has "^sscd $(git describe --tags --always --dirty) (commit $(git rev-parse HEAD)" ||
	fail "installed sscd --version: $(/usr/sbin/sscd --version)"

step "remove: stops the daemon, keeps configuration and audit log"
: >"$state/systemd.log"
as_systemd apt-get remove -y -qq -o DPkg::Lock::Timeout=300 sscd >"$state/apt.log" 2>&1 || { cat "$state/apt.log" >&2; fail "remove"; }
grep -q '^deb-systemd-invoke stop sscd.service$' "$state/systemd.log" || fail "removal did not stop sscd"
[ ! -e /run/sscd ] || fail "/run/sscd after the stop"
[ -f /etc/sscd/sscd.yaml ] && grep -q '^hsm: sim$' /etc/sscd/sscd.yaml || fail "removal lost the configuration"
[ -s /var/log/sscd/audit.log ] || fail "removal lost the audit log"
[ ! -e /usr/sbin/sscd ] || fail "/usr/sbin/sscd after removal"

step "purge: configuration and audit log go, the user stays"
as_systemd apt-get purge -y -qq -o DPkg::Lock::Timeout=300 $pkgs >"$state/apt.log" 2>&1 || { cat "$state/apt.log" >&2; fail "purge"; }
[ ! -e /etc/sscd ] || fail "/etc/sscd after purge: $(ls -la /etc/sscd)"
[ ! -e /var/log/sscd ] || fail "/var/log/sscd after purge"
[ ! -e /etc/systemd/system/multi-user.target.wants/sscd.service ] || fail "sscd.service still enabled after purge"
getent passwd sscd >/dev/null || fail "purge removed the user (documented to stay)"
echo "package test passed"
