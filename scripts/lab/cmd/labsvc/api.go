package main

import (
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// apiMux serves the business API, /metrics and /debug/pprof/ from one mux, as many services do.
// Only the business API is instrumented, so long pprof or scrape requests never pollute the
// latency histogram.
func apiMux(svc *checkoutService) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /api/checkout", instrument("/api/checkout", http.HandlerFunc(svc.handleCheckout)))
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also serves heap, goroutine, mutex, block, allocs
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// instrument records http_request_duration_seconds{handler,method,code} for h.
func instrument(handler string, h http.Handler) http.Handler {
	return promhttp.InstrumentHandlerDuration(
		requestDuration.MustCurryWith(prometheus.Labels{"handler": handler}), h)
}
