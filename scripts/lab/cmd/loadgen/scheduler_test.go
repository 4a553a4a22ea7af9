package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestScheduleUniformAndPoisson(t *testing.T) {
	start := time.Unix(0, 0)
	u := (&scheduler{cfg: config{rate: 100, arrivals: "uniform"}}).schedule(start)
	if got := u(250).Sub(start); got != 2500*time.Millisecond {
		t.Errorf("uniform request 250 due at %v, want 2.5s", got)
	}
	p := (&scheduler{cfg: config{rate: 100, arrivals: "poisson", seed: 7}}).schedule(start)
	var last time.Time
	for i := range 10_000 {
		last = p(i)
	}
	// 10,000 exponential gaps of mean 10 ms: ~100 s, within a few percent.
	if d := last.Sub(start).Seconds(); d < 95 || d > 105 {
		t.Errorf("poisson schedule of 10k requests spans %.1fs, want ~100s", d)
	}
}

func TestRunAgainstLocalServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		path   string
		ok     int
		errors int
	}{{"/", 20, 0}, {"/fail", 0, 20}} {
		cfg := config{url: srv.URL + tc.path, rate: 200, duration: 100 * time.Millisecond, maxInflight: 10, timeout: time.Second, arrivals: "uniform"}
		total, err := validate(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		client, err := newLoopbackClient(cfg.url, cfg.maxInflight)
		if err != nil {
			t.Fatal(err)
		}
		res := newResults()
		(&scheduler{cfg: cfg, client: client, res: res}).run(t.Context(), time.Now(), total)
		s := res.summary(cfg.rate, time.Second)
		if s.OK != tc.ok || s.Errors != tc.errors || s.Sent != 20 {
			t.Errorf("%s: %+v", tc.path, s)
		}
	}
}

func TestScheduleBursts(t *testing.T) {
	start := time.Unix(0, 0)
	u := (&scheduler{cfg: config{rate: 100, arrivals: "uniform", burst: 50}}).schedule(start)
	if u(0) != start || u(49) != start || u(50).Sub(start) != 500*time.Millisecond {
		t.Errorf("uniform bursts of 50 at 100/s: due %v %v %v, want 0 0 500ms", u(0).Sub(start), u(49).Sub(start), u(50).Sub(start))
	}
	p := (&scheduler{cfg: config{rate: 100, arrivals: "poisson", burst: 10, seed: 3}}).schedule(start)
	first := p(0)
	for i := 1; i < 10; i++ {
		if p(i) != first {
			t.Fatalf("poisson burst member %d due at %v, want %v", i, p(i), first)
		}
	}
	if !p(10).After(first) {
		t.Error("second poisson burst not later than the first")
	}
}
