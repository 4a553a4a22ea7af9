// Command labsvc is a small checkout service with switchable, realistic latency faults.
// It exists to produce real pprof and Prometheus evidence for p99sleuth's fixtures and tests.
//
// Three listeners: the API (with /metrics and /debug/pprof on the same mux, like many real
// services), a lab-only control API that switches faults, and the service's own tiny
// downstream dependency, which the API calls over real HTTP on every request.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "API, /metrics and /debug/pprof/ listen address")
	controlAddr := flag.String("control-addr", "127.0.0.1:18081", "lab-only fault switch listen address")
	downstreamAddr := flag.String("downstream-addr", "127.0.0.1:18082", "listen address of the built-in downstream inventory service")
	runtimeMetrics := flag.Bool("runtime-metrics", false, "export all runtime/metrics (go_sched_latencies_seconds, go_gc_pauses_seconds, ...)")
	profileRates := flag.Bool("profile-rates", true, "enable mutex (fraction 5) and block (100µs) profiling")
	leakCap := flag.Int("leak-cap", 100_000, "upper bound on leaked session goroutines, so the machine survives a long leak")
	extraAddr := flag.String("extra-addr", "", "optional second listen address for the API mux (e.g. a veth address that a client network namespace reaches); --addr keeps serving /metrics and pprof on loopback")
	listenBacklog := flag.Int("listen-backlog", 0, "listen(2) backlog of the API listeners; 0: the kernel's net.core.somaxconn, as Go does")
	journalDir := flag.String("journal", "", "directory of the order journal: every checkout appends its order and fsyncs before answering (write-ahead log); empty: no journal")
	journalReceiptBytes := flag.Int("journal-receipt-bytes", 0, "size of the rendered receipt stored with each journaled order")
	journalSyncInterval := flag.Duration("journal-sync-interval", 0, "0: fsync every order before answering; > 0: fsync the journal in the background at this interval (like appendfsync everysec)")
	journalSegmentMB := flag.Int("journal-segment-mb", 64, "journal segment size in MiB; the newest two segments are kept")
	role := flag.String("role", "all", "all: API and downstream in one process; api: the API only (the downstream runs elsewhere at --downstream-addr); downstream: the inventory dependency only")
	flag.Parse()
	if *role != "all" && *role != "api" && *role != "downstream" {
		log.Fatalf("labsvc: --role must be all, api or downstream, not %q", *role)
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	if *profileRates {
		// Without these two calls the mutex and block profiles stay empty ("not enabled").
		runtime.SetMutexProfileFraction(5)
		runtime.SetBlockProfileRate(100_000) // ns: sample ~every 100µs of blocking
	}
	registerMetrics(*runtimeMetrics)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	faults := newFaultSet()
	downstream := newInventoryServer(faults)
	svc := newCheckoutService(faults, "http://"+*downstreamAddr, *leakCap)
	if *journalDir != "" && *role != "downstream" {
		j, err := openJournal(*journalDir, int64(*journalSegmentMB)<<20, *journalReceiptBytes, *journalSyncInterval)
		if err != nil {
			log.Fatalf("labsvc: --journal: %v", err)
		}
		svc.journal = j
	}
	control := &controlAPI{faults: faults, svc: svc}

	// A dependency in its own process keeps its latency independent of the API's CPU, as in
	// production: with role=all a CPU-starved API also starves its in-process dependency.
	servers := []*http.Server{newServer(*controlAddr, control.mux())}
	backlogs := map[*http.Server]int{}
	if *role != "downstream" {
		mux := apiMux(svc)
		apiServers := []*http.Server{newServer(*addr, mux)}
		if *extraAddr != "" {
			apiServers = append(apiServers, newServer(*extraAddr, mux))
		}
		for _, s := range apiServers {
			backlogs[s] = *listenBacklog
		}
		servers = append(apiServers, servers...)
	}
	if *role != "api" {
		servers = append(servers, newServer(*downstreamAddr, downstream.mux()))
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() {
			if err := listenAndServe(s, backlogs[s]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	log.Printf("labsvc: role=%s api=%s control=%s downstream=%s runtime-metrics=%v profile-rates=%v gomaxprocs=%d",
		*role, *addr, *controlAddr, *downstreamAddr, *runtimeMetrics, *profileRates, runtime.GOMAXPROCS(0))
	if *extraAddr != "" || *listenBacklog > 0 || svc.journal != nil {
		log.Printf("labsvc: extra-addr=%q listen-backlog=%d journal=%q", *extraAddr, *listenBacklog, *journalDir)
	}

	exitCode := 0
	select {
	case <-ctx.Done():
		log.Printf("labsvc: shutting down")
	case err := <-errc:
		log.Printf("labsvc: %v", err)
		exitCode = 1
	}
	control.reset() // stop background fault goroutines before the listeners go away
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, s := range servers {
		if err := s.Shutdown(shutdownCtx); err != nil {
			log.Printf("labsvc: shutdown %s: %v", s.Addr, err)
		}
		if i == 0 && *role != "downstream" {
			// Spare connections the client pool dialled but never used look "new" to the
			// downstream server, and Shutdown waits 5 s before it treats those as idle.
			svc.inventory.http.CloseIdleConnections()
		}
	}
	if svc.journal != nil {
		if err := svc.journal.close(); err != nil {
			log.Printf("labsvc: journal: %v", err)
		}
	}
	log.Printf("labsvc: stopped")
	if exitCode != 0 {
		os.Exit(exitCode)
	}
}

// newServer sets the timeouts a production service would: WriteTimeout must exceed the longest
// pprof ?seconds= window (60 s) or net/http/pprof answers 400.
func newServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       90 * time.Second,
	}
}
