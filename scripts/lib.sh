# Shared by scripts/demo.sh and scripts/test.sh. Source it; do not run it.

# Debian packages the project needs: the PC/SC daemon and headers, the vpcd
# virtual reader driver, pcsc-tools/opensc for cross-checks, socat for serial
# tests, gcc/pkg-config for cgo.
SSC_DEBIAN_PACKAGES="pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools opensc socat pkg-config gcc libc6-dev openssl curl"

# ssc_has ARGS... is `grep -q ARGS...` for the end of a pipeline: it reads
# all of its input. grep -q exits at the first match, and under pipefail a
# producer still writing then dies of SIGPIPE and fails the pipeline although
# the line was there (seen: `ldd ... | grep -q` in the package test).
ssc_has() { grep "$@" >/dev/null; }

ssc_need_go() {
	if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
		export PATH="/usr/local/go/bin:$PATH"
	fi
	if ! command -v go >/dev/null 2>&1; then
		echo "error: Go 1.26 or newer is needed (not found in PATH or /usr/local/go)" >&2
		exit 1
	fi
	local v
	v=$(go env GOVERSION | sed 's/^go//')
	case "$v" in
	1.2[6-9]* | 1.[3-9][0-9]* | [2-9].*) ;;
	*) echo "error: Go $v found; Go 1.26 or newer is needed" >&2; exit 1 ;;
	esac
}

ssc_install_deps() {
	local missing=""
	for p in $SSC_DEBIAN_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | ssc_has "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "error: missing Debian packages:$missing (run as root, or apt-get install them)" >&2
		exit 1
	fi
	echo "installing Debian packages:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Debian packages only the tests need: headless Chromium for the browser
# tests of the demo e-card platform (examples/ecardplatform, chromedp), a
# CJK font so its screenshots show the Chinese text, and redis-server for
# the shared nonce store (link/redisnonce; each test starts a private one).
SSC_TEST_PACKAGES="chromium fonts-wqy-microhei redis-server"

ssc_install_test_deps() {
	SSC_DEBIAN_PACKAGES="$SSC_TEST_PACKAGES" ssc_install_deps
}

# Debian packages for the ARM64 cross build and its smoke test under
# qemu-user (scripts/arm64.sh): the aarch64 cross compiler with its C library,
# qemu-user to run the binaries, file to check them; and from the arm64
# architecture (multiarch) the PC/SC client library that cgo links against,
# which also brings libc6:arm64, the loader qemu runs the binaries with.
SSC_ARM64_PACKAGES="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user file libpcsclite-dev:arm64"

# ssc_install_arm64_deps adds the arm64 architecture to dpkg (once) and
# installs SSC_ARM64_PACKAGES. --no-remove: a multiarch install must never
# remove amd64 packages to resolve a version skew; apt fails instead.
ssc_install_arm64_deps() {
	local missing="" p
	for p in $SSC_ARM64_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | ssc_has "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "error: missing Debian packages for the ARM64 build:$missing (run as root, or apt-get install them)" >&2
		exit 1
	fi
	if ! dpkg --print-foreign-architectures | ssc_has -x arm64; then
		echo "adding the arm64 architecture to dpkg (multiarch, for libpcsclite-dev:arm64)" >&2
		dpkg --add-architecture arm64
	fi
	echo "installing Debian packages for the ARM64 build:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends --no-remove $missing >/dev/null
}

# ssc_free_port_pair prints a port P such that P and P+1 are free on loopback
# (vpcd listens on both, one per virtual slot).
ssc_free_port_pair() {
	local p
	for p in 35963 $(shuf -i 40000-60000 -n 40); do
		if ! ss -Htln "( sport = :$p or sport = :$((p + 1)) )" 2>/dev/null | ssc_has .; then
			echo "$p"
			return 0
		fi
	done
	echo "error: no free port pair for vpcd" >&2
	return 1
}

# ssc_start_pcscd DIR PORT starts a private pcscd (own mount namespace, so it
# never disturbs a system pcscd) with vpcd on PORT and PORT+1. Clients use
# PCSCLITE_CSOCK_NAME=DIR/run/pcscd.comm. Sets SSC_PCSCD_PID.
ssc_start_pcscd() {
	local dir=$1 port=$2
	mkdir -p "$dir/run" "$dir/conf" /run/pcscd
	cat >"$dir/conf/vpcd" <<CONF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:$(printf '0x%X' "$port")
LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so
CHANNELID    $(printf '0x%X' "$port")
CONF
	unshare -m --propagation private sh -c \
		"mount --bind '$dir/run' /run/pcscd && exec pcscd -f -c '$dir/conf'" >"$dir/pcscd.log" 2>&1 &
	SSC_PCSCD_PID=$!
	export PCSCLITE_CSOCK_NAME="$dir/run/pcscd.comm"
	local i
	for i in $(seq 50); do
		[ -S "$PCSCLITE_CSOCK_NAME" ] && return 0
		kill -0 "$SSC_PCSCD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "error: private pcscd did not start; its log:" >&2
	cat "$dir/pcscd.log" >&2
	return 1
}

ssc_stop_pcscd() {
	[ -n "${SSC_PCSCD_PID:-}" ] || return 0
	kill -TERM "$SSC_PCSCD_PID" 2>/dev/null || true
	local i
	for i in $(seq 50); do
		kill -0 "$SSC_PCSCD_PID" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$SSC_PCSCD_PID" 2>/dev/null || true
}

# ssc_build_vpcd16 builds Debian's vpcd driver with 16 slots (the upstream
# VPCDSLOTS configure option) into /var/cache/ssc/vpcd16, for the tests and
# benchmarks of many readers (internal/pcsctest WithReaders). Debian's build
# has 2 slots, and a second vpcd instance in one pcscd shares the first one's
# per-slot state, so 16 readers need one 16-slot instance. The source comes
# from Debian's source package through a private sources list (the system's
# APT configuration is not changed).
ssc_build_vpcd16() {
	local out=/var/cache/ssc/vpcd16 ver
	ver=$(dpkg-query -W -f='${Version}' vsmartcard-vpcd 2>/dev/null || true)
	if [ -f "$out/libifdvpcd.so" ] && [ "$(cat "$out/version" 2>/dev/null)" = "$ver" ]; then
		return 0
	fi
	echo "building the 16-slot vpcd driver from Debian's source of vsmartcard $ver" >&2
	local tmp
	tmp=$(mktemp -d)
	mkdir -p "$tmp/lists/partial" "$tmp/archives/partial" "$tmp/src"
	cat >"$tmp/src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	local apt_opts=(-o "Dir::Etc::SourceList=$tmp/src.sources" -o "Dir::Etc::SourceParts=-"
		-o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache::Archives=$tmp/archives" -o "APT::Sandbox::User=root")
	apt-get "${apt_opts[@]}" update -qq >/dev/null
	(cd "$tmp/src" && apt-get "${apt_opts[@]}" source --download-only -qq "vsmartcard=${ver%%+b*}" >/dev/null)
	tar -xzf "$tmp"/src/vsmartcard_*.orig.tar.gz -C "$tmp/src"
	local s
	s=$(echo "$tmp"/src/vsmartcard-*/virtualsmartcard/src)
	mkdir -p "$out"
	gcc -shared -fPIC -O2 -DVPCDSLOTS=16 -DHAVE_DECL_MSG_NOSIGNAL=1 -DHAVE_SYSLOG_H=1 \
		-I"$s/vpcd" -I"$s/ifd-vpcd" $(pkg-config --cflags libpcsclite) \
		"$s/ifd-vpcd/ifd-vpcd.c" "$s/vpcd/vpcd.c" "$s/vpcd/lock.c" -lpthread -o "$out/libifdvpcd.so.tmp"
	mv "$out/libifdvpcd.so.tmp" "$out/libifdvpcd.so"
	echo "$ver" >"$out/version"
	rm -rf "$tmp"
}
