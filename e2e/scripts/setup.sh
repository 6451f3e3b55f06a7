#!/usr/bin/env bash
# Installs what the local platform and the tests need on a fresh Debian machine, then builds
# the Go programs (cached outside the repository by version, so a warm run does nothing):
#   - Debian: PostgreSQL, Prometheus (promtool), Alertmanager (amtool); buildah, umoci and runc for the
#     container images (`make images` and the test that runs them)
#   - Go modules (e2e/tools/*): etcd, kube-apiserver, kube-controller-manager, kubectl, helm,
#     nats-server (2.15: operator mode with cross-account JetStream needs >= 2.14, Debian has 2.9),
#     Ory Hydra v2.3.0 and its login/consent app (e2e/tools/hydra)
# Safe to run again; it only installs what is missing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

missing=()
# Chromium, its WebDriver and CJK fonts: the disclosure portal's browser test.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing+=(fonts-noto-cjk)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
for image_tool in buildah umoci runc; do
	command -v "$image_tool" >/dev/null 2>&1 || missing+=("$image_tool")
done
if ((${#missing[@]})); then
	log "installing Debian packages: ${missing[*]}"
	sudo=""; [[ $(id -u) == 0 ]] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# Debian starts packaged services; the platform runs its own instances on free ports.
	for svc in postgresql prometheus prometheus-node-exporter prometheus-alertmanager; do
		$sudo systemctl disable --now "$svc" >/dev/null 2>&1 || $sudo service "$svc" stop >/dev/null 2>&1 || true
	done
fi

command -v go >/dev/null || { log "Go is required (go1.24 or newer) to build the control plane"; exit 1; }
command -v cargo >/dev/null || { log "Rust (cargo) is required"; exit 1; }

"$here/../tools/build.sh" >/dev/null
log "setup complete"
