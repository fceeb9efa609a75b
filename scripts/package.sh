#!/usr/bin/env bash
# Builds the Debian packages into dist/:
#
#   sscd           the daemon, its hardened unit, /etc/sscd/sscd.yaml (conffile),
#                  the system user and group sscd (maintainer scripts), sscd(8),
#                  the polkit rule that lets user sscd use pcscd
#   sscctl         the CLI, its man pages, bash/zsh/fish completion
#   libsscard1     the C library libsscard.so.1 under /usr/lib/<multiarch>
#   libsscard-dev  its header, the libsscard.so link and sscard.pc
#
# (the library packages when cmd/libsscard exists). amd64 by default;
# ARCH=arm64 cross-builds with Debian's cross toolchain. Then, as root:
#
#   apt-get install ./dist/*.deb
#
# Environment: ARCH (amd64, arm64), DIST (output directory, default dist),
# DEB_VERSION (the Debian version; default from git, see below),
# SOURCE_DATE_EPOCH (default: the commit's time).
#
# Versions: the binaries report `git describe --tags --always --dirty` and
# the commit (internal/version). The Debian version is X.Y.Z for a tag vX.Y.Z,
# X.Y.Z+N.gHASH for N commits after it, and before the first tag
# 0.0~gitYYYYMMDD.HHMMSS.HASH (the commit's UTC time), so versions grow with
# the history; "+dirty" marks a build from a modified tree.
#
# Reproducible: the same commit gives byte-identical packages (-trimpath,
# -buildvcs=false with the version set by -X, file times and the ar/tar
# timestamps at SOURCE_DATE_EPOCH, root ownership in the archives, sorted
# contents); scripts/package-test.sh checks it.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022
. scripts/lib.sh
ssc_need_go

ARCH=${ARCH:-amd64}
DIST=${DIST:-dist}
case "$ARCH" in
amd64) triplet=x86_64-linux-gnu cc=gcc ;;
arm64) triplet=aarch64-linux-gnu cc=aarch64-linux-gnu-gcc ;;
*) echo "error: ARCH=$ARCH: amd64 or arm64" >&2; exit 1 ;;
esac

# The tools: dpkg-deb and dpkg-shlibdeps (dpkg-dev), the C compiler and
# pcsc-lite's headers for cgo, of the target architecture.
SSC_DEBIAN_PACKAGES="dpkg-dev binutils gcc libc6-dev pkg-config libpcsclite-dev" ssc_install_deps
if [ "$ARCH" = arm64 ]; then
	ssc_install_arm64_deps # the cross compiler, qemu-user and libpcsclite-dev:arm64 (scripts/lib.sh)
	SSC_DEBIAN_PACKAGES="crossbuild-essential-arm64" ssc_install_deps # dpkg-shlibdeps for arm64
fi

# Versions.
commit=$(git rev-parse HEAD)
describe=$(git describe --tags --always --dirty)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
if [ -z "${DEB_VERSION:-}" ]; then
	if tag=$(git describe --tags --long --match 'v[0-9]*' 2>/dev/null); then
		# v1.2.3-N-gHASH
		base=${tag%-*-g*}
		n=${tag#"$base"-}
		n=${n%%-*}
		DEB_VERSION=${base#v}
		[ "$n" = 0 ] || DEB_VERSION="$DEB_VERSION+$n.g$(git rev-parse --short=7 HEAD)"
	else
		DEB_VERSION="0.0~git$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d.%H%M%S).$(git rev-parse --short=7 HEAD)"
	fi
	if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
		DEB_VERSION="$DEB_VERSION+dirty"
	fi
fi
maintainer=${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>')}

work=$(mktemp -d -t ssc-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$DIST"

echo "== building $ARCH packages $DEB_VERSION ($describe) into $DIST"

# The man pages and completions come from the commands (host build).
gendocs() { # TEST PACKAGE
	local out
	out=$(env -u GOOS -u GOARCH -u CC go test -count=1 -run "^$1\$" "$2" -args -docs "$work/docs" 2>&1) || {
		echo "$out" >&2
		echo "error: $1 in $2 failed" >&2
		exit 1
	}
}
gendocs TestGenerateDocs ./cmd/sscctl
gendocs TestGenerateManPage ./cmd/sscd

# The binaries: PIE, full RELRO, bind now, the C parts fortified; no paths
# of this machine, no VCS stamp, the version set explicitly.
vpkg=github.com/sscard/ssc/internal/version
export CGO_ENABLED=1 GOOS=linux GOARCH=$ARCH CC=$cc
export CGO_CFLAGS="-O2 -g -fstack-protector-strong -Wformat -Werror=format-security"
export CGO_CPPFLAGS="-D_FORTIFY_SOURCE=2"
export CGO_LDFLAGS="-Wl,-z,relro -Wl,-z,now"
if [ "$ARCH" != amd64 ]; then
	export PKG_CONFIG_LIBDIR="/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig"
fi
ldflags="-s -w -X $vpkg.version=$describe -X $vpkg.commit=$commit"
gobuild() { go build -trimpath -buildvcs=false "$@"; }
gobuild -buildmode=pie -ldflags "$ldflags -extldflags '-Wl,-z,relro -Wl,-z,now'" -o "$work/bin/sscd" ./cmd/sscd
gobuild -buildmode=pie -ldflags "$ldflags -extldflags '-Wl,-z,relro -Wl,-z,now'" -o "$work/bin/sscctl" ./cmd/sscctl
have_lib=
if [ -d cmd/libsscard ]; then
	# A library that is there must build: no silent package without it.
	if ! gobuild -buildmode=c-shared \
		-ldflags "$ldflags -extldflags '-Wl,-soname,libsscard.so.1 -Wl,-z,relro -Wl,-z,now'" \
		-o "$work/lib/libsscard.so.1" ./cmd/libsscard; then
		echo "error: cmd/libsscard does not build for $ARCH" >&2
		exit 1
	fi
	[ -f cmd/libsscard/sscard.h ] || { echo "error: cmd/libsscard/sscard.h is missing" >&2; exit 1; }
	have_lib=1
fi

# Like dh_strip: the compilers' .comment section is noise (-s -w already
# dropped the symbols and DWARF).
objcopy=objcopy
[ "$ARCH" = amd64 ] || objcopy=$triplet-objcopy
for f in "$work"/bin/* ${have_lib:+"$work/lib/libsscard.so.1"}; do
	"$objcopy" --remove-section=.comment "$f"
done

# root_of PKG: the tree of a package.
root_of() { echo "$work/pkg/$1"; }
doc_files() { # PKG: copyright and changelog, as Debian wants them
	local d
	d="$(root_of "$1")/usr/share/doc/$1"
	install -D -m 0644 deploy/debian/copyright "$d/copyright"
	{
		printf 'ssc (%s) unstable; urgency=medium\n\n' "$DEB_VERSION"
		printf '  * Built from commit %s (%s).\n' "$commit" "$describe"
		printf '    The changes are in CHANGELOG.md of the source.\n\n'
		printf ' -- %s  %s\n' "$maintainer" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
	} | gzip -9n >"$d/changelog.gz"
	chmod 0644 "$d/changelog.gz"
}
man_page() { # PKG SECTION FILE...
	local pkg=$1 sec=$2 f
	shift 2
	install -d -m 0755 "$(root_of "$pkg")/usr/share/man/man$sec"
	for f in "$@"; do
		gzip -9n <"$f" >"$(root_of "$pkg")/usr/share/man/man$sec/$(basename "$f").gz"
		chmod 0644 "$(root_of "$pkg")/usr/share/man/man$sec/$(basename "$f").gz"
	done
}
# shlibdeps FILE...: the Depends of ELF files, by dpkg-shlibdeps from the
# libraries' shlibs/symbols files of the target architecture.
shlibdeps() {
	local d="$work/shlibdeps" out f args=()
	mkdir -p "$d/debian"
	printf 'Source: ssc\n\nPackage: x\nArchitecture: any\n' >"$d/debian/control"
	for f in "$@"; do args+=("$(realpath "$f")"); done
	out=$(cd "$d" && DEB_HOST_ARCH=$ARCH dpkg-shlibdeps -O "${args[@]}" 2>"$d/err") || {
		cat "$d/err" >&2
		return 1
	}
	echo "${out#shlibs:Depends=}"
}
# build_deb PKG SECTION DEPENDS DESCRIPTION [EXTRA-FIELDS]
build_deb() {
	local pkg=$1 section=$2 depends=$3 desc=$4 extra=${5:-} r size
	r=$(root_of "$pkg")
	install -d -m 0755 "$r/DEBIAN"
	(cd "$r" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
		xargs -0r md5sum) >"$r/DEBIAN/md5sums"
	size=$(du -sk --apparent-size --exclude=DEBIAN "$r" | cut -f1)
	{
		printf 'Package: %s\nSource: ssc\nVersion: %s\nArchitecture: %s\n' "$pkg" "$DEB_VERSION" "$ARCH"
		printf 'Maintainer: %s\nInstalled-Size: %s\n' "$maintainer" "$size"
		[ -z "$depends" ] || printf 'Depends: %s\n' "$depends"
		[ -z "$extra" ] || printf '%s\n' "$extra"
		printf 'Section: %s\nPriority: optional\nHomepage: https://github.com/sscard/ssc\n' "$section"
		printf 'Description: %s\n' "$desc"
	} >"$r/DEBIAN/control"
	chmod 0644 "$r/DEBIAN/control" "$r/DEBIAN/md5sums"
	# Reproducible: every mtime at SOURCE_DATE_EPOCH; no group/other write.
	find "$r" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	chmod -R go-w "$r"
	dpkg-deb --root-owner-group -Zxz --build "$r" "$DIST/${pkg}_${DEB_VERSION}_$ARCH.deb" >/dev/null
	echo "$DIST/${pkg}_${DEB_VERSION}_$ARCH.deb"
}
rm -f "$DIST"/*_"$ARCH".deb

# sscd
r=$(root_of sscd)
install -D -m 0755 "$work/bin/sscd" "$r/usr/sbin/sscd"
install -D -m 0644 deploy/sscd.service "$r/lib/systemd/system/sscd.service"
install -D -m 0644 deploy/sscd.yaml "$r/etc/sscd/sscd.yaml"
install -D -m 0644 deploy/sscd-polkit.rules "$r/usr/share/polkit-1/rules.d/60-sscd.rules"
doc_files sscd
man_page sscd 8 "$work/docs/man8/sscd.8"
install -d -m 0755 "$r/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "deploy/debian/sscd.$s" "$r/DEBIAN/$s"; done
echo /etc/sscd/sscd.yaml >"$r/DEBIAN/conffiles"
build_deb sscd admin "$(shlibdeps "$r/usr/sbin/sscd"), adduser, pcscd" \
	"social security card reader daemon
 sscd owns the card readers of the machine (PC/SC through pcscd, serial
 GemPC readers) and serves applications a JSON API on a local socket:
 basic information of China's third-generation social security cards,
 the HSM two-step read, PINs (PIN pads too), card linking for the
 electronic SSC, counter issuance, an audit log and Prometheus metrics.
 It runs as the system user sscd under a hardened systemd unit; members
 of the group sscd may use the socket /run/sscd/sscd.sock." \
	"Suggests: sscctl"

# sscctl
r=$(root_of sscctl)
install -D -m 0755 "$work/bin/sscctl" "$r/usr/bin/sscctl"
install -D -m 0644 "$work/docs/completion/sscctl.bash" "$r/usr/share/bash-completion/completions/sscctl"
install -D -m 0644 "$work/docs/completion/_sscctl" "$r/usr/share/zsh/vendor-completions/_sscctl"
install -D -m 0644 "$work/docs/completion/sscctl.fish" "$r/usr/share/fish/vendor_completions.d/sscctl.fish"
doc_files sscctl
man_page sscctl 1 "$work"/docs/man1/*.1
build_deb sscctl utils "$(shlibdeps "$r/usr/bin/sscctl")" \
	"command-line tool for social security cards
 sscctl reads China's third-generation social security cards and their
 PBOC bank application, through sscd when it runs or through PC/SC and
 serial readers directly: basic information, PINs, the PKI application,
 card linking, counter issuance, raw APDUs and a software card for tests." \
	"Recommends: sscd"

# libsscard1, libsscard-dev
if [ -n "$have_lib" ]; then
	upstream=${DEB_VERSION%%+*}
	r=$(root_of libsscard1)
	install -D -m 0644 "$work/lib/libsscard.so.1" "$r/usr/lib/$triplet/libsscard.so.1"
	doc_files libsscard1
	install -d -m 0755 "$r/DEBIAN"
	echo "libsscard 1 libsscard1 (>= $upstream)" >"$r/DEBIAN/shlibs"
	echo "activate-noawait ldconfig" >"$r/DEBIAN/triggers"
	chmod 0644 "$r/DEBIAN/shlibs" "$r/DEBIAN/triggers"
	build_deb libsscard1 libs "$(shlibdeps "$r/usr/lib/$triplet/libsscard.so.1")" \
		"C library for social security cards (ssc SDK)
 libsscard gives C programs the ssc SDK: the readers, the basic
 information of China's third-generation social security cards, through
 sscd or PC/SC." \
		"Multi-Arch: same"

	r=$(root_of libsscard-dev)
	install -D -m 0644 cmd/libsscard/sscard.h "$r/usr/include/sscard.h"
	# The cgo-generated declarations, when sscard.h includes them.
	if grep -q '#include *"libsscard.h"' cmd/libsscard/sscard.h; then
		install -m 0644 "$work/lib/libsscard.h" "$r/usr/include/libsscard.h"
	fi
	install -d -m 0755 "$r/usr/lib/$triplet/pkgconfig"
	ln -s libsscard.so.1 "$r/usr/lib/$triplet/libsscard.so"
	sed -e "s/@MULTIARCH@/$triplet/" -e "s/@VERSION@/$upstream/" deploy/debian/sscard.pc.in \
		>"$r/usr/lib/$triplet/pkgconfig/sscard.pc"
	chmod 0644 "$r/usr/lib/$triplet/pkgconfig/sscard.pc"
	doc_files libsscard-dev
	build_deb libsscard-dev libdevel "libsscard1 (= $DEB_VERSION)" \
		"C library for social security cards (ssc SDK) - development files
 The header sscard.h, the link library and the pkg-config file sscard.pc
 (pkg-config --cflags --libs sscard) of libsscard." \
		"Multi-Arch: same"
fi
