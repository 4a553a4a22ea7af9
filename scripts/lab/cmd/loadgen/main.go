// Command loadgen is an open-loop HTTP load generator for the lab. Request i is due at a time
// fixed in advance (start + i/rate, or a seeded Poisson schedule), whatever happened to earlier
// requests, and its latency is measured from that intended time, so a stalled server cannot
// hide its stall (no coordinated omission).
//
// It only talks to loopback addresses (and, with --allow-cidr, to IP literals in one private network). The summary is one JSON line on stdout; interim
// reports (--report-every) are JSON lines on stderr, so stdout stays a single line.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// maxRequests bounds one run whatever the flags say.
const maxRequests = 5_000_000

type config struct {
	url         string
	rate        float64
	duration    time.Duration
	maxRequests int
	maxInflight int
	timeout     time.Duration
	reportEvery time.Duration
	arrivals    string
	seed        uint64
	allowCIDR   string
	keepAlive   bool
	burst       int
}

func main() {
	var cfg config
	flag.StringVar(&cfg.url, "url", "http://127.0.0.1:18080/api/checkout", "target URL; its host must be a loopback address (or an IP literal inside --allow-cidr)")
	flag.Float64Var(&cfg.rate, "rate", 50, "arrival rate, requests per second")
	flag.DurationVar(&cfg.duration, "duration", 20*time.Second, "how long to send (hard bound, at most 1h)")
	flag.IntVar(&cfg.maxRequests, "max-requests", 0, "cap on requests sent (default rate*duration)")
	flag.IntVar(&cfg.maxInflight, "max-inflight", 2000, "safety cap on concurrent requests; requests over it are dropped")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "per-request timeout")
	flag.DurationVar(&cfg.reportEvery, "report-every", 0, "print an interim JSON line on stderr this often (0: never)")
	flag.StringVar(&cfg.arrivals, "arrivals", "uniform", "arrival schedule: uniform (request i due at i/rate) or poisson (seeded exponential gaps, mean 1/rate)")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed for --arrivals poisson, so a schedule can be replayed")
	flag.StringVar(&cfg.allowCIDR, "allow-cidr", "", "also accept IP literals inside this private (RFC 1918) network, e.g. a lab veth subnet 10.231.0.0/16 reached from a network namespace")
	flag.IntVar(&cfg.burst, "burst", 1, "requests per arrival: groups of N fall due at the same instant (N/rate apart on average), like clients that reconnect together")
	flag.BoolVar(&cfg.keepAlive, "keepalive", true, "reuse connections; --keepalive=false opens a new TCP connection per request")
	flag.Parse()

	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
}

func run(cfg config) error {
	total, err := validate(&cfg)
	if err != nil {
		return err
	}
	client, err := newClient(cfg.url, cfg.maxInflight, clientOptions{allowCIDR: cfg.allowCIDR, keepAlive: cfg.keepAlive})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	res := newResults()
	start := time.Now()
	if cfg.reportEvery > 0 {
		reportCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		go reportLoop(reportCtx, res, start, cfg.reportEvery)
	}
	sched := &scheduler{cfg: cfg, client: client, res: res}
	sched.run(ctx, start, total)

	sum := res.summary(cfg.rate, time.Since(start))
	return json.NewEncoder(os.Stdout).Encode(sum)
}

func validate(cfg *config) (int, error) {
	switch {
	case cfg.rate <= 0 || cfg.rate > 100_000:
		return 0, fmt.Errorf("--rate must be in (0, 100000], got %v", cfg.rate)
	case cfg.duration <= 0 || cfg.duration > time.Hour:
		return 0, fmt.Errorf("--duration must be in (0, 1h], got %v", cfg.duration)
	case cfg.maxInflight < 1:
		return 0, fmt.Errorf("--max-inflight must be >= 1")
	case cfg.timeout <= 0:
		return 0, fmt.Errorf("--timeout must be > 0")
	case cfg.burst < 0 || cfg.burst > 100_000:
		return 0, fmt.Errorf("--burst must be in [1, 100000], got %d", cfg.burst)
	case cfg.arrivals != "uniform" && cfg.arrivals != "poisson":
		return 0, fmt.Errorf("--arrivals must be uniform or poisson, got %q", cfg.arrivals)
	}
	total := int(cfg.rate * cfg.duration.Seconds())
	if cfg.maxRequests > 0 {
		total = min(total, cfg.maxRequests)
	}
	return max(1, min(total, maxRequests)), nil
}

// reportLoop writes one JSON line per window to stderr with the stats of that window only.
func reportLoop(ctx context.Context, res *results, start time.Time, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	enc := json.NewEncoder(os.Stderr)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			w := res.takeWindow()
			s := w.summarize(0, every)
			_ = enc.Encode(interim{Interim: true, ElapsedS: round3(now.Sub(start).Seconds()), summary: s})
		}
	}
}
