package main

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// riskModelCost is what one risk evaluation costs on the request path.
const riskModelCost = 4 * time.Millisecond

// computeRiskScore runs a naive feature-hashing risk model over the cart. It is pure CPU on the
// request goroutine, so it shows up in CPU profiles under net/http.(*conn).serve.
// Its cost depends on rounds only, not on the cart's size.
func computeRiskScore(c cart, rounds int) float64 {
	var block [64]byte
	copy(block[:], c.UserID)
	var acc uint64
	for i := range rounds {
		it := c.Items[i%len(c.Items)]
		binary.LittleEndian.PutUint64(block[32:], uint64(it.UnitCents)*uint64(i+1))
		copy(block[40:], it.SKU)
		sum := sha256.Sum256(block[:])
		acc ^= binary.LittleEndian.Uint64(sum[:8])
		copy(block[:32], sum[:])
	}
	return float64(acc%10_000) / 10_000
}
