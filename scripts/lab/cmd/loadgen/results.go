package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// summary is the JSON line loadgen prints. errors includes dropped requests; ok+errors equals
// sent+dropped. Latencies cover ok, failed and dropped requests (dropped count as the timeout).
type summary struct {
	Sent      int     `json:"sent"`
	OK        int     `json:"ok"`
	Errors    int     `json:"errors"`
	Dropped   int     `json:"dropped"`
	Aborted   int     `json:"aborted"`
	Rate      float64 `json:"rate"`
	DurationS float64 `json:"durationS"`
	P50Ms     float64 `json:"p50Ms"`
	P90Ms     float64 `json:"p90Ms"`
	P99Ms     float64 `json:"p99Ms"`
	P999Ms    float64 `json:"p999Ms"`
	MaxMs     float64 `json:"maxMs"`
}

// interim is one --report-every line: the stats of the last window only.
type interim struct {
	Interim  bool    `json:"interim"`
	ElapsedS float64 `json:"elapsedS"`
	summary
}

// tally is a set of completed requests.
type tally struct {
	ok, errors, dropped, aborted int
	latencies                    []time.Duration
}

func (t *tally) add(o outcome, d time.Duration) {
	switch o {
	case outcomeOK:
		t.ok++
	case outcomeError:
		t.errors++
	case outcomeDropped:
		t.errors++
		t.dropped++
	case outcomeAborted:
		t.aborted++
		return // cut short by our own shutdown: says nothing about the server
	}
	t.latencies = append(t.latencies, d)
}

// summarize computes exact nearest-rank percentiles; rate 0 means "the window's achieved rate".
func (t *tally) summarize(rate float64, elapsed time.Duration) summary {
	sent := t.ok + t.errors - t.dropped + t.aborted
	if rate == 0 && elapsed > 0 {
		rate = float64(sent+t.dropped) / elapsed.Seconds()
	}
	l := slices.Clone(t.latencies)
	slices.Sort(l)
	return summary{
		Sent: sent, OK: t.ok, Errors: t.errors, Dropped: t.dropped, Aborted: t.aborted,
		Rate: round3(rate), DurationS: round3(elapsed.Seconds()),
		P50Ms: rankMs(l, 0.50), P90Ms: rankMs(l, 0.90), P99Ms: rankMs(l, 0.99),
		P999Ms: rankMs(l, 0.999), MaxMs: rankMs(l, 1),
	}
}

// rankMs is the nearest-rank percentile of sorted latencies, in milliseconds.
func rankMs(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = min(max(i, 0), len(sorted)-1)
	return round3(float64(sorted[i]) / float64(time.Millisecond))
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

type outcome int

const (
	outcomeOK outcome = iota
	outcomeError
	outcomeDropped
	outcomeAborted
)

// results collects outcomes from concurrent requests: the whole run and the current window.
type results struct {
	mu     sync.Mutex
	all    tally
	window tally
}

func newResults() *results { return &results{} }

func (r *results) record(o outcome, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all.add(o, d)
	r.window.add(o, d)
}

// takeWindow returns the window's tally and starts a new one.
func (r *results) takeWindow() tally {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.window
	r.window = tally{}
	return w
}

func (r *results) summary(rate float64, elapsed time.Duration) summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.all.summarize(rate, elapsed)
}
