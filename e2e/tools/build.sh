#!/usr/bin/env bash
# Builds the Go programs of the local platform (etcd, kube-apiserver, nats-server,
# kube-controller-manager, kubectl, helm, Ory Hydra and its login app) from the wrapper modules beside this
# script, into a cache outside the repository:
#
#   ${SANXIANG_CACHE:-$HOME/.cache/sanxiang}/tools/<module>-<hash of go.mod+go.sum>/bin/
#
# The key is the wrapper's go.mod and go.sum (and Go sources in its subdirectories), so changing a pinned version rebuilds and a
# warm run builds nothing. Prints the directory of each module's binaries on stdout as
# `name=dir` lines (progress goes to stderr), so callers can `eval`-free parse it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SANXIANG_CACHE:-$HOME/.cache/sanxiang}
k8s_version=v1.34.4

command -v go >/dev/null || { echo "build.sh: 'go' is not on PATH; install Go >= 1.24 (https://go.dev/doc/install)" >&2; exit 1; }

log() { printf '[tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# build MODULE OUTPUT_NAME=PACKAGE... [-- LDFLAGS]
build() {
	local module=$1; shift
	local dir="$here/$module"
	local key
	# Programs of our own inside a wrapper (in subdirectories) are part of the key too.
	key=$(cat "$dir/go.mod" "$dir/go.sum" $(find "$dir" -mindepth 2 -name '*.go' | sort) | sha256sum | cut -c1-12)
	local out="$cache/tools/$module-$key"
	if [[ -f "$out/.complete" ]]; then
		echo "$module=$out/bin"
		return
	fi
	local ldflags=""
	local pkgs=()
	while (($#)); do
		if [[ $1 == -- ]]; then ldflags=$2; break; fi
		pkgs+=("$1"); shift
	done
	mkdir -p "$out/bin"
	local start=$SECONDS
	for spec in "${pkgs[@]}"; do
		local name=${spec%%=*} pkg=${spec#*=}
		log "building $name from $pkg (module $module; a cold build takes minutes)…"
		local t0=$SECONDS
		# Progress: print elapsed time every 30 s while the compiler runs.
		( while sleep 30; do log "  … still building $name ($((SECONDS - t0))s)"; done ) &
		local ticker=$!
		if ! (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/bin/$name" "$pkg"); then
			kill "$ticker" 2>/dev/null || true
			echo "build.sh: building $name from $pkg failed (see the Go errors above)" >&2
			exit 1
		fi
		kill "$ticker" 2>/dev/null || true
		wait "$ticker" 2>/dev/null || true
		log "built $name in $((SECONDS - t0))s"
	done
	touch "$out/.complete"
	log "module $module ready in $((SECONDS - start))s: $out/bin"
	echo "$module=$out/bin"
}

minor=${k8s_version#v1.}; minor=${minor%%.*}
kube_ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	kube_ldflags+=" -X $p.gitVersion=$k8s_version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
	kube_ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done

build etcd etcd=go.etcd.io/etcd/server/v3 -- "-s -w"
build kube \
	kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
	kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
	kubectl=k8s.io/kubernetes/cmd/kubectl \
	-- "$kube_ldflags"
build nats nats-server=github.com/nats-io/nats-server/v2 -- "-s -w"
# Ory Hydra (the OpenID Connect provider) and the local login/consent app beside it.
build hydra hydra=github.com/ory/hydra/v2 sanxiang-login=./loginapp -- "-s -w -X github.com/ory/hydra/v2/driver/config.Version=v2.3.0"
build helm helm=helm.sh/helm/v3/cmd/helm -- "-s -w -X helm.sh/helm/v3/internal/version.version=v3.21.4"
