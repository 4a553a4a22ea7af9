#!/usr/bin/env bash
# Runs a throwaway Prometheus (and node_exporter) for the lab, on loopback only.
#
#   prometheus.sh start DIR HOST:PORT...   scrape the targets as job "checkout" every second
#   prometheus.sh stop DIR                 stop what start launched (by PID file)
#
# Ports: PROM_PORT (default 19090), NODE_EXPORTER_PORT (default 19100).
set -euo pipefail

PROM_PORT="${PROM_PORT:-19090}"
NODE_EXPORTER_PORT="${NODE_EXPORTER_PORT:-19100}"
READY_TIMEOUT_S="${READY_TIMEOUT_S:-30}"

die() { echo "prometheus.sh: $*" >&2; exit 1; }
usage() { die "usage: $0 start DIR HOST:PORT... | stop DIR"; }

# alive PIDFILE NAME: true if the PID file names a running process whose command is NAME
# (guards against killing an unrelated process that reused the PID).
alive() {
  local pid
  [ -f "$1" ] || return 1
  pid="$(cat "$1")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}

# stop_one PIDFILE NAME: TERM, then KILL after 5 s; removes the PID file.
stop_one() {
  local pidfile="$1" name="$2" pid
  if alive "$pidfile" "$name"; then
    pid="$(cat "$pidfile")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      alive "$pidfile" "$name" || break
      sleep 0.1
    done
    if alive "$pidfile" "$name"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

cmd_stop() {
  local dir="$1"
  stop_one "$dir/prometheus.pid" prometheus
  stop_one "$dir/node_exporter.pid" prometheus-node-exporter
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd_start() {
  local dir="$1"; shift
  [ $# -ge 1 ] || usage
  command -v prometheus >/dev/null || die "prometheus not found; run scripts/lab/install-deps.sh"
  alive "$dir/prometheus.pid" prometheus && die "already running for $dir; run '$0 stop $dir' first"
  port_busy "$PROM_PORT" && die "127.0.0.1:$PROM_PORT is already in use (set PROM_PORT)"
  mkdir -p "$dir/data"
  dir="$(cd "$dir" && pwd)"

  local targets="" t re='^[][A-Za-z0-9.:-]+:[0-9]+$'
  for t in "$@"; do
    [[ "$t" =~ $re ]] || die "target must be host:port, got '$t'"
    targets+="\"$t\", "
  done

  local node_job=""
  if command -v prometheus-node-exporter >/dev/null; then
    port_busy "$NODE_EXPORTER_PORT" && die "127.0.0.1:$NODE_EXPORTER_PORT is already in use (set NODE_EXPORTER_PORT)"
    # Collectors that carry latency evidence (LAB-NOTES); schedstat is absent on this kernel.
    nohup prometheus-node-exporter \
      --web.listen-address="127.0.0.1:$NODE_EXPORTER_PORT" \
      --collector.interrupts --collector.softnet --collector.pressure --collector.netstat \
      --collector.tcpstat --collector.qdisc --no-collector.schedstat \
      --collector.netstat.fields='^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPLossProbes)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$' \
      >"$dir/node_exporter.log" 2>&1 </dev/null &
    echo $! >"$dir/node_exporter.pid"
    node_job="
  - job_name: node
    static_configs:
      - targets: [\"127.0.0.1:$NODE_EXPORTER_PORT\"]"
  else
    echo "prometheus.sh: prometheus-node-exporter not found; scraping without job 'node'" >&2
  fi

  cat >"$dir/prometheus.yml" <<YAML
# Written by scripts/lab/prometheus.sh
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: checkout
    static_configs:
      - targets: [${targets%, }]
        # What Kubernetes service discovery would attach to a pod's series: the accuracy suite's
        # Kubernetes scenarios find the service by them (scripts/accuracy.ts, LAB_POD).
        labels:
          namespace: shop
          pod: checkout-7d9f8b6c5-lab00
          container: app$node_job
YAML

  nohup prometheus \
    --config.file="$dir/prometheus.yml" \
    --storage.tsdb.path="$dir/data" \
    --storage.tsdb.retention.time=2d \
    --web.listen-address="127.0.0.1:$PROM_PORT" \
    >"$dir/prometheus.log" 2>&1 </dev/null &
  echo $! >"$dir/prometheus.pid"

  local deadline=$((SECONDS + READY_TIMEOUT_S))
  until curl -fsS -o /dev/null "http://127.0.0.1:$PROM_PORT/-/ready" 2>/dev/null; do
    if ! alive "$dir/prometheus.pid" prometheus || [ "$SECONDS" -ge "$deadline" ]; then
      echo "prometheus.sh: Prometheus not ready on 127.0.0.1:$PROM_PORT within ${READY_TIMEOUT_S}s; log tail:" >&2
      tail -n 20 "$dir/prometheus.log" >&2 || true
      cmd_stop "$dir"
      exit 1
    fi
    sleep 0.2
  done
  if [ -n "$node_job" ] && ! alive "$dir/node_exporter.pid" prometheus-node-exporter; then
    echo "prometheus.sh: node_exporter exited; log tail:" >&2
    tail -n 20 "$dir/node_exporter.log" >&2 || true
    cmd_stop "$dir"
    exit 1
  fi
  echo "prometheus.sh: Prometheus ready on http://127.0.0.1:$PROM_PORT (data in $dir)" >&2
}

[ $# -ge 2 ] || usage
case "$1" in
  start) shift; cmd_start "$@" ;;
  stop) [ $# -eq 2 ] || usage; cmd_stop "$2" ;;
  *) usage ;;
esac
