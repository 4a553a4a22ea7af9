#!/usr/bin/env bash
# Builds bin/labsvc, bin/loadgen and bin/udpflood. Quiet on success; relies on go.sum (no -mod=mod).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p bin
go build -o bin/ ./cmd/...
