#!/usr/bin/env bash
# Measures one lab scenario against a running labsvc (+ prometheus.sh) and prints one JSON line.
#
#   measure.sh FAULT[,FAULT...]|healthy [RATE=50] [SECONDS=20] [OUTDIR]
#
# Resets the service, switches the fault(s) on, drives open-loop load, reads the server-side P99
# and runtime signals from Prometheus over the load window, optionally saves pprof evidence to
# OUTDIR (cpu, mutex, block, goroutine, heap, allocs, metrics), then resets again.
# Env: API (127.0.0.1:18080), CONTROL (127.0.0.1:18081), PROM (127.0.0.1:19090),
#      ARRIVALS (poisson: bursts like real traffic, so locks and pools can queue; or uniform).
set -euo pipefail
cd "$(dirname "$0")"

FAULTS="${1:?usage: measure.sh FAULT[,FAULT...]|healthy [RATE] [SECONDS] [OUTDIR]}"
RATE="${2:-50}"
SECS="${3:-20}"
OUT="${4:-}"
API="${API:-127.0.0.1:18080}"
CONTROL="${CONTROL:-127.0.0.1:18081}"
PROM="${PROM:-127.0.0.1:19090}"
ARRIVALS="${ARRIVALS:-poisson}"
[ "$SECS" -ge 10 ] && [ "$SECS" -le 600 ] || { echo "measure.sh: SECONDS must be 10..600" >&2; exit 1; }

post() { curl -fsS -m 30 -X POST "http://$CONTROL$1" >/dev/null; }
# promq EXPR: the first sample's value, or null.
promq() {
  curl -fsS -m 10 --data-urlencode "query=$1" "http://$PROM/api/v1/query" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).data.result;const v=r.length?Number(r[0].value[1]):NaN;console.log(Number.isFinite(v)?+v.toPrecision(4):null)})'
}

post /reset
trap 'post /reset || true' EXIT # never leave a fault on
if [ "$FAULTS" != healthy ]; then
  IFS=, read -ra list <<<"$FAULTS"
  for f in "${list[@]}"; do post "/fault?name=$f&on=1"; done
fi
sleep 2 # let background faults spin up and one scrape land

pids=()
if [ -n "$OUT" ]; then
  mkdir -p "$OUT"
  win=$((SECS > 20 ? 10 : SECS / 2))
  # Start profiles a little into the load so they cover steady state.
  ( sleep 3
    curl -fsS -m $((win + 30)) -o "$OUT/cpu.pb.gz" "http://$API/debug/pprof/profile?seconds=$win" &
    curl -fsS -m $((win + 30)) -o "$OUT/mutex.pb.gz" "http://$API/debug/pprof/mutex?seconds=$win" &
    curl -fsS -m $((win + 30)) -o "$OUT/block.pb.gz" "http://$API/debug/pprof/block?seconds=$win" &
    curl -fsS -m $((win + 30)) -o "$OUT/allocs.pb.gz" "http://$API/debug/pprof/allocs?seconds=$win" &
    wait
    curl -fsS -m 30 -o "$OUT/goroutine.pb.gz" "http://$API/debug/pprof/goroutine"
    curl -fsS -m 30 -o "$OUT/heap.pb.gz" "http://$API/debug/pprof/heap"
    curl -fsS -m 30 -o "$OUT/metrics.txt" "http://$API/metrics" ) &
  pids+=($!)
fi

client="$(./bin/loadgen --url "http://$API/api/checkout" --rate "$RATE" --duration "${SECS}s" --timeout 10s --arrivals "$ARRIVALS")"
[ ${#pids[@]} -eq 0 ] || wait "${pids[@]}" || echo "measure.sh: some pprof captures failed" >&2
sleep 1.5 # one more scrape so the window ends after the last request

w="$((SECS - 1))s"
p99="$(promq "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[$w])))")"
p99last="$(promq "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[10s])))")"
p50="$(promq "histogram_quantile(0.50, sum by (le) (rate(http_request_duration_seconds_bucket[$w])))")"
gc="$(promq "rate(go_gc_duration_seconds_count{job=\"checkout\"}[$w])")"
cpu="$(promq "rate(process_cpu_seconds_total{job=\"checkout\"}[$w])")"
gor="$(promq "max_over_time(go_goroutines{job=\"checkout\"}[$w])")"
# Only with labsvc --runtime-metrics (null otherwise):
sched="$(promq "histogram_quantile(0.99, rate(go_sched_latencies_seconds_bucket{job=\"checkout\"}[$w]))")"
mutexw="$(promq "rate(go_sync_mutex_wait_total_seconds_total{job=\"checkout\"}[$w])")"
alloc="$(promq "rate(go_memstats_alloc_bytes_total{job=\"checkout\"}[$w]) / 1e6")"
# How contended the host was (other tenants skew a shared machine's numbers).
psi="$(awk '/^some/ { sub("avg60=", "", $3); print $3 }' /proc/pressure/cpu 2>/dev/null || true)"

ms() { [ "$1" = null ] && echo null || node -e "console.log(+($1*1000).toFixed(2))"; }
echo "{\"fault\":\"$FAULTS\",\"rate\":$RATE,\"arrivals\":\"$ARRIVALS\",\"seconds\":$SECS,\"serverP50Ms\":$(ms "$p50"),\"serverP99Ms\":$(ms "$p99"),\"serverP99Last10sMs\":$(ms "$p99last"),\"gcPerS\":$gc,\"allocMBPerS\":$alloc,\"cpuCores\":$cpu,\"maxGoroutines\":$gor,\"schedLatencyP99Ms\":$(ms "$sched"),\"mutexWaitSPerS\":$mutexw,\"hostCpuSomeAvg60\":${psi:-null},\"client\":$client}"
