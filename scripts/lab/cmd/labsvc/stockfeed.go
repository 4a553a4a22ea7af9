package main

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
)

// stockEvent tells watchers that the stock of some SKUs changed.
type stockEvent struct {
	SKUs []string
	At   time.Time
}

// stockFeed is an in-process event bus: one broker goroutine owns the watcher list and fans
// every event out to every watcher.
type stockFeed struct {
	mu      sync.Mutex // serialises reset
	gen     atomic.Pointer[feedGen]
	leakCap int
}

// feedGen is one lifetime of the broker and of everything subscribed to it.
type feedGen struct {
	events    chan stockEvent
	subscribe chan *stockWatcher
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	watchers  atomic.Int64
}

// stockWatcher keeps a cart's recent stock history so checkout can warn about changes.
type stockWatcher struct {
	skus    []string
	updates chan stockEvent
	hits    int
	notice  []byte // what the checkout page would show about stock changes
}

type stockNotice struct {
	Watching []string  `json:"watching"`
	Changed  []string  `json:"changed"`
	At       time.Time `json:"at"`
	Hits     int       `json:"hits"`
}

func newStockFeed(leakCap int) *stockFeed {
	f := &stockFeed{leakCap: leakCap}
	f.gen.Store(f.startGen())
	return f
}

func (f *stockFeed) startGen() *feedGen {
	ctx, cancel := context.WithCancel(context.Background())
	g := &feedGen{
		events:    make(chan stockEvent, 256),
		subscribe: make(chan *stockWatcher),
		ctx:       ctx,
		cancel:    cancel,
	}
	g.wg.Add(1)
	go g.broker()
	return g
}

// reset ends the broker and every watcher (the leaked ones included) and starts afresh.
// It returns how many watchers were released.
func (f *stockFeed) reset() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.gen.Swap(f.startGen())
	n := old.watchers.Load()
	old.cancel()
	old.wg.Wait()
	return n
}

// watching reports the number of live watcher goroutines.
func (f *stockFeed) watching() int64 { return f.gen.Load().watchers.Load() }

// watch subscribes a watcher for the cart's items. The bug this models: the watcher lives as
// long as the feed (the service), not as long as the request, because nobody unsubscribes it.
func (f *stockFeed) watch(c cart) {
	g := f.gen.Load()
	if g.watchers.Load() >= int64(f.leakCap) {
		return // lab safety cap, so a long leak cannot take the machine down
	}
	w := &stockWatcher{updates: make(chan stockEvent, 4)}
	for _, it := range c.Items {
		w.skus = append(w.skus, it.SKU)
	}
	g.wg.Add(1) // before the broker can see w, so reset always waits for it
	select {
	case g.subscribe <- w:
	case <-g.ctx.Done():
		g.wg.Done()
		return
	}
	g.watchers.Add(1)
	go w.run(g)
}

// publish announces that the cart's stock changed.
func (f *stockFeed) publish(ctx context.Context, c cart) {
	g := f.gen.Load()
	ev := stockEvent{SKUs: make([]string, len(c.Items)), At: time.Now()}
	for i, it := range c.Items {
		ev.SKUs[i] = it.SKU
	}
	select {
	case g.events <- ev:
	case <-ctx.Done():
	case <-g.ctx.Done():
	}
}

// broker fans each event out to every watcher; a watcher that is behind misses the event.
func (g *feedGen) broker() {
	defer g.wg.Done()
	var watchers []*stockWatcher
	for {
		select {
		case w := <-g.subscribe:
			watchers = append(watchers, w)
		case ev := <-g.events:
			for _, w := range watchers {
				select {
				case w.updates <- ev:
				default:
				}
			}
		case <-g.ctx.Done():
			return
		}
	}
}

// run keeps a ring of recent stock changes and counts those that touch the watched SKUs.
func (w *stockWatcher) run(g *feedGen) {
	defer g.wg.Done()
	defer g.watchers.Add(-1)
	history := make([]stockEvent, 512) // ~24 KB ring, pointer-rich for the GC to scan
	next := 0
	for {
		select {
		case ev := <-w.updates:
			history[next%len(history)] = ev
			next++
			if w.touches(ev) {
				w.hits++
			}
			w.notice, _ = json.Marshal(stockNotice{Watching: w.skus, Changed: ev.SKUs, At: ev.At, Hits: w.hits})
		case <-g.ctx.Done():
			return
		}
	}
}

func (w *stockWatcher) touches(ev stockEvent) bool {
	for _, a := range ev.SKUs {
		for _, b := range w.skus {
			if a == b {
				return true
			}
		}
	}
	return false
}
