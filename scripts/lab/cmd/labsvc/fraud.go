package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

const (
	fraudWorkers  = 2                    // "the vendor library is not thread-safe beyond two sessions"
	fraudEvalCost = 6 * time.Millisecond // CPU per evaluation
)

type fraudJob struct {
	c     cart
	reply chan float64 // buffered(1): a worker never blocks on a caller that gave up
}

// fraudPool is one running generation of workers.
type fraudPool struct {
	jobs   chan fraudJob // unbuffered: a caller waits until a worker takes its job
	done   <-chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// fraudScreener hands each evaluation to a small fixed worker pool, so callers queue on
// channel operations (chansend/chanrecv/select) whenever both workers are busy.
type fraudScreener struct {
	mu    sync.Mutex // serialises start/stop
	pool  atomic.Pointer[fraudPool]
	units int
}

func newFraudScreener() *fraudScreener { return &fraudScreener{units: 1} }

func (f *fraudScreener) calibrate(c cart) {
	f.units = calibrate(fraudEvalCost, func(n int) { f.evaluate(c, n) })
}

// start launches the workers if they are not running.
func (f *fraudScreener) start() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pool.Load() != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &fraudPool{jobs: make(chan fraudJob), done: ctx.Done(), cancel: cancel}
	for range fraudWorkers {
		p.wg.Add(1)
		go f.worker(p)
	}
	f.pool.Store(p)
}

// stop makes the workers exit after their current job and waits for them.
func (f *fraudScreener) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pool.Swap(nil)
	if p == nil {
		return
	}
	p.cancel()
	p.wg.Wait()
}

func (f *fraudScreener) worker(p *fraudPool) {
	defer p.wg.Done()
	for {
		select {
		case j := <-p.jobs:
			j.reply <- f.evaluate(j.c, f.units)
		case <-p.done:
			return
		}
	}
}

// screen submits the cart to the pool and waits for its score.
func (f *fraudScreener) screen(ctx context.Context, c cart) float64 {
	p := f.pool.Load()
	if p == nil {
		return f.evaluate(c, f.units)
	}
	j := fraudJob{c: c, reply: make(chan float64, 1)}
	select {
	case p.jobs <- j:
	case <-p.done: // pool stopped while we queued
		return f.evaluate(c, f.units)
	case <-ctx.Done():
		return 0
	}
	select {
	case s := <-j.reply:
		return s
	case <-ctx.Done():
		return 0
	}
}

// evaluate walks a small synthetic tree ensemble over the cart's features; CPU only.
func (f *fraudScreener) evaluate(c cart, trees int) float64 {
	var features [16]float64
	for i, it := range c.Items {
		features[i%len(features)] += float64(it.UnitCents*int64(it.Qty)) / 1000
	}
	score := 0.0
	for t := range trees {
		node := uint32(t)*2654435761 + 1
		for range 8 { // depth-8 trees
			x := features[node%uint32(len(features))]
			threshold := float64(node%997) / 10
			node = node*1664525 + 1013904223
			if x > threshold {
				node ^= 0x9e3779b9
			}
		}
		score += float64(node%1000) / 1e6
	}
	return score / float64(max(trees, 1))
}
