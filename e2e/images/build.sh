#!/usr/bin/env bash
# Builds the container images of the binaries listed in e2e/images/binaries as OCI archives
# (`<out>/<binary>.oci.tar`), with Debian's buildah: no registry, no Docker daemon, no base
# image. Each image is `FROM scratch` plus the binary, the shared libraries `ldd` lists for it,
# the CA bundle and an unprivileged user (see the Containerfiles).
#
#   e2e/images/build.sh [--bin-dir DIR] [--out DIR] [BINARY...]
#
#   --bin-dir DIR  take the binaries from DIR instead of running `cargo build --release`
#                  (the image test uses the debug binaries the test command has built)
#   --out DIR      where the archives go (default: $CARGO_TARGET_DIR/images, or target/images)
#   BINARY...      only these (default: every binary of e2e/images/binaries)
#
# Prints one line per image: name, reference, manifest digest, archive size and the size of
# its unpacked file system. Image timestamps come from the last commit (SOURCE_DATE_EPOCH), so
# the same binary gives the same digest.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

log() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

bin_dir="" out=""
binaries=()
while (($#)); do
	case $1 in
	--bin-dir) bin_dir=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,17p' "$0"; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) binaries+=("$1"); shift ;;
	esac
done
if ((${#binaries[@]} == 0)); then
	mapfile -t binaries < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/binaries" | grep -v '^$')
fi
((${#binaries[@]})) || die "no binaries in $here/binaries"

command -v buildah >/dev/null || die "buildah is missing: install the Debian package buildah (make setup)"
target=${CARGO_TARGET_DIR:-$root/target}
out=${out:-$target/images}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [[ -z $bin_dir ]]; then
	log "cargo build --release: ${binaries[*]}"
	bins=()
	for b in "${binaries[@]}"; do bins+=(--bin "$b"); done
	(cd "$root" && cargo build --release --locked --quiet "${bins[@]}")
	bin_dir=$target/release
fi

epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}
revision=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

# buildah keeps its layers in a private store that lives only as long as this build.
work=$(mktemp -d "${TMPDIR:-/tmp}/sanxiang-images.XXXXXX")
trap 'rm -rf "$work"' EXIT
store=(--root "$work/storage" --runroot "$work/run" --storage-driver vfs)

# Copies the file `lib` resolves to into the root file system at the path the dynamic loader
# looks it up by (so /lib64/ld-linux-x86-64.so.2 is a real file, not a dangling link).
add_file() {
	local src=$1 dest=$2 mode=$3
	install -D -m "$mode" "$(readlink -f "$src")" "$dest"
}

stage() {
	local name=$1 bin=$2 ctx=$3
	local rootfs=$ctx/rootfs
	add_file "$bin" "$rootfs/usr/local/bin/$name" 0755
	local line lib
	while read -r line; do
		[[ $line == *"not found"* ]] && die "$bin: shared library ${line%% *} not found"
		lib=$(grep -o '/[^ ]*' <<<"$line" | head -1) || continue
		[[ -n $lib ]] || continue
		case $lib in
		*/ld-linux*) add_file "$lib" "$rootfs$lib" 0755 ;;
		*) add_file "$lib" "$rootfs$lib" 0644 ;;
		esac
	done < <(ldd "$bin" 2>&1 || true)
	[[ -e $rootfs/lib64/ld-linux-x86-64.so.2 || -n $(find "$rootfs" -name 'ld-linux*' -print -quit) ]] ||
		die "$bin: ldd named no dynamic loader (is it a Linux executable?)"
	local certs=/etc/ssl/certs/ca-certificates.crt
	[[ -f $certs ]] || die "$certs is missing: install the Debian package ca-certificates"
	add_file "$certs" "$rootfs$certs" 0644
	mkdir -p "$rootfs/etc"
	printf 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' >"$rootfs/etc/passwd"
	printf 'nonroot:x:65532:\n' >"$rootfs/etc/group"
	printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
	chmod 0644 "$rootfs"/etc/{passwd,group,nsswitch.conf}
	install -d -m 1777 "$rootfs/tmp"
}

for name in "${binaries[@]}"; do
	containerfile=$here/$name.Containerfile
	bin=$bin_dir/$name
	[[ -f $containerfile ]] || die "$containerfile is missing (every binary of e2e/images/binaries needs one)"
	[[ -x $bin ]] || die "$bin is missing: build it first (cargo build --bin $name)"
	version=$("$bin" --version | awk '{print $2}')
	[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || die "$bin --version printed no version: $("$bin" --version)"
	repo=sanxiang/${name#sanxiang-}
	ref=$repo:$version

	ctx=$work/context-$name
	mkdir -p "$ctx"
	stage "$name" "$bin" "$ctx"
	cp "$containerfile" "$ctx/Containerfile"
	buildah "${store[@]}" bud --quiet --isolation chroot --timestamp "$epoch" \
		--build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
		-f "$ctx/Containerfile" -t "localhost/$ref" "$ctx" >/dev/null
	archive=$out/$name.oci.tar
	rm -f "$archive"
	buildah "${store[@]}" push --quiet "localhost/$ref" "oci-archive:$archive:$ref" >/dev/null
	digest=$(tar -xOf "$archive" index.json | grep -o '"digest":"sha256:[0-9a-f]*"' | head -1 | cut -d'"' -f4)
	printf '%-26s %-34s %s  archive %s  rootfs %s\n' "$name" "$ref" "$digest" \
		"$(du -h "$archive" | cut -f1)" "$(du -sh "$ctx/rootfs" | cut -f1)"
done
