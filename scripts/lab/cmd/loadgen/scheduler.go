package main

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// scheduler sends requests on a fixed arrival schedule.
type scheduler struct {
	cfg    config
	client *http.Client
	res    *results
}

// run sends total requests, request i at start + i/rate, then waits for the ones in flight.
// On ctx's end (a signal) it stops sending and aborts what is in flight.
func (s *scheduler) run(ctx context.Context, start time.Time, total int) {
	next := s.schedule(start)
	slots := make(chan struct{}, s.cfg.maxInflight)
	reqCtx, abort := context.WithCancel(context.Background())
	defer abort()
	var wg sync.WaitGroup
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

sending:
	for i := range total {
		due := next(i)
		if due.Sub(start) > s.cfg.duration {
			break // a Poisson schedule may run long; --duration is a hard bound
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				break sending
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			break
		}
		select {
		case slots <- struct{}{}:
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				s.send(reqCtx, due)
			}()
		default:
			// Over the in-flight cap: the request could not be sent. Count it as an error
			// that took the full timeout, the honest worst case for a client that gives up.
			s.res.record(outcomeDropped, s.cfg.timeout)
		}
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		abort()
		<-done
	}
}

// schedule returns the intended send time of request i (called with i = 0, 1, 2, ...).
// Uniform spacing never lets two requests overlap while service time < 1/rate, so it cannot
// show queueing (locks, pools); Poisson arrivals have the bursts real traffic has.
// With --burst N, requests come in groups of N due at the same instant, groups N/rate apart
// (uniform) or with exponential gaps of mean N/rate (poisson): the same average rate.
func (s *scheduler) schedule(start time.Time) func(i int) time.Time {
	burst := max(1, s.cfg.burst)
	mean := float64(time.Second) / s.cfg.rate * float64(burst)
	if s.cfg.arrivals == "uniform" {
		return func(i int) time.Time { return start.Add(time.Duration(float64(i/burst) * mean)) }
	}
	rng := rand.New(rand.NewPCG(s.cfg.seed, 0x9e3779b97f4a7c15))
	at := 0.0
	return func(i int) time.Time {
		if i > 0 && i%burst == 0 {
			at += rng.ExpFloat64() * mean
		}
		return start.Add(time.Duration(at))
	}
}

// send performs one request; its latency runs from the intended send time to the last byte.
func (s *scheduler) send(runCtx context.Context, due time.Time) {
	ctx, cancel := context.WithTimeout(runCtx, s.cfg.timeout)
	defer cancel()
	o := outcomeError
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.url, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = s.client.Do(req); err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
				o = outcomeOK
			}
		}
	}
	latency := time.Since(due)
	if o != outcomeOK && runCtx.Err() != nil {
		o = outcomeAborted // cut short by our own shutdown
	}
	s.res.record(o, latency)
}
