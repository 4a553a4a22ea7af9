package main

import (
	"context"
	"hash/fnv"
	"runtime"
	"sync"
)

// reindexer rebuilds the search index in the background with one goroutine per shard. Shards
// are many (8 per P) and purely CPU-bound, so while it runs the request goroutines wait for a P:
// scheduling latency rises although the request path itself is no more expensive.
type reindexer struct {
	catalog []string
	mu      sync.Mutex
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newReindexer(catalog []string) *reindexer { return &reindexer{catalog: catalog} }

// start launches the shard goroutines unless they are already running.
func (r *reindexer) start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	shards := 8 * runtime.GOMAXPROCS(0)
	for shard := range shards {
		r.wg.Add(1)
		go r.rebuild(ctx, shard, shards)
	}
}

// stop cancels the rebuild and waits until every shard goroutine has returned.
func (r *reindexer) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
	r.cancel = nil
}

// rebuild hashes its shard's terms over and over (a re-index that never converges), yielding
// between batches as well-behaved batch code does.
func (r *reindexer) rebuild(ctx context.Context, shard, shards int) {
	defer r.wg.Done()
	var postings [4096]uint32
	h := fnv.New32a()
	for ctx.Err() == nil {
		for i := shard; i < len(r.catalog); i += shards {
			for pass := range 16 {
				h.Reset()
				h.Write([]byte(r.catalog[i]))
				h.Write([]byte{byte(pass)})
				postings[h.Sum32()%uint32(len(postings))]++
			}
		}
		runtime.Gosched()
	}
}
