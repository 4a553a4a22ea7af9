package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// requestDuration is the conventional server-side latency histogram (same name and labels as
// promhttp examples and many real services); buckets span 0.5 ms to 10 s.
var requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "http_request_duration_seconds",
	Help:    "Duration of HTTP requests served.",
	Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
}, []string{"handler", "method", "code"})

// registerMetrics uses the default registry, which already carries the default Go and process
// collectors, as most services do. With runtimeMetrics the Go collector is swapped for one that
// exports every runtime/metrics series (go_sched_latencies_seconds, go_gc_pauses_seconds, ...),
// which only a minority of real services enable.
func registerMetrics(runtimeMetrics bool) {
	if runtimeMetrics {
		prometheus.Unregister(collectors.NewGoCollector())
		prometheus.MustRegister(collectors.NewGoCollector(
			collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsAll),
		))
	}
	prometheus.MustRegister(requestDuration)
}
