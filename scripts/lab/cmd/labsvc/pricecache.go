package main

import (
	"hash/fnv"
	"sync"
	"time"
)

// priceHoldTarget is how long refresh keeps the global lock per request.
const priceHoldTarget = 4 * time.Millisecond

type priceEntry struct {
	cents   int64
	version uint64
}

// priceCache is a process-wide price table guarded by one mutex. refresh recomputes derived
// prices while holding the lock — the classic "too much work under a global lock".
type priceCache struct {
	mu      sync.Mutex
	entries map[string]*priceEntry
	catalog []string
	units   int // entries recomputed per refresh, sized by calibrate
}

func newPriceCache(catalog []string) *priceCache {
	p := &priceCache{entries: make(map[string]*priceEntry, len(catalog)), catalog: catalog, units: 1000}
	for i, sku := range catalog {
		p.entries[sku] = &priceEntry{cents: int64(100 + i)}
	}
	return p
}

func (p *priceCache) calibrate() {
	c := cart{UserID: "calibration", Items: []cartItem{{SKU: p.catalog[0], UnitCents: 100}}}
	p.units = calibrate(priceHoldTarget, func(n int) {
		p.mu.Lock()
		p.recompute(c, n)
		p.mu.Unlock()
	})
}

// refresh updates the cart's prices and re-derives neighbouring entries under the global lock.
func (p *priceCache) refresh(c cart) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recompute(c, p.units)
}

// recompute must be called with p.mu held.
func (p *priceCache) recompute(c cart, units int) {
	h := fnv.New64a()
	for _, it := range c.Items {
		if e := p.entries[it.SKU]; e != nil {
			e.cents = it.UnitCents
			e.version++
		}
	}
	for i := range units {
		e := p.entries[p.catalog[i%len(p.catalog)]]
		h.Reset()
		h.Write([]byte(p.catalog[i%len(p.catalog)]))
		e.version = h.Sum64() ^ uint64(e.cents)
	}
}
