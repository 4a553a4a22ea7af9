#!/usr/bin/env bash
# Installs what the lab needs: Prometheus and node_exporter, bpftrace (kernel evidence), and the
# fault tools (stress-ng, iproute2, iptables) from Debian, and the Go modules.
# Non-interactive; safe to re-run (skips apt when the binaries are already there).
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive

if ! command -v go >/dev/null 2>&1; then
  echo "install-deps: 'go' not found on PATH; install Go >= 1.26 (https://go.dev/dl/) first" >&2
  exit 1
fi

# command -> Debian package
declare -A PKG=([prometheus]=prometheus [prometheus-node-exporter]=prometheus-node-exporter [bpftrace]=bpftrace
  [stress-ng]=stress-ng [ip]=iproute2 [iptables]=iptables)
missing=()
for cmd in "${!PKG[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${PKG[$cmd]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages (${missing[*]}) and not root; run as root or install them" >&2
    exit 1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's packages may start system services on machines with systemd; the lab runs its own.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
  fi
fi

# bpftrace reads tracepoints through tracefs, which some machines do not mount at boot.
if [ "$(id -u)" -eq 0 ]; then
  mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
  mountpoint -q /sys/kernel/debug || mount -t debugfs nodev /sys/kernel/debug 2>/dev/null || true
fi

go mod download
