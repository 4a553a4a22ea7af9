package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"time"
)

// cartItem and cart are what a checkout request prices.
type cartItem struct {
	SKU       string `json:"sku"`
	Qty       int    `json:"qty"`
	UnitCents int64  `json:"unitCents"`
	Category  string `json:"category"`
}

type cart struct {
	UserID   string     `json:"userId"`
	Currency string     `json:"currency"`
	Coupon   string     `json:"coupon,omitempty"`
	Items    []cartItem `json:"items"`
}

// quote is the checkout response.
type quote struct {
	UserID        string   `json:"userId"`
	SubtotalCents int64    `json:"subtotalCents"`
	TaxCents      int64    `json:"taxCents"`
	TotalCents    int64    `json:"totalCents"`
	Risk          float64  `json:"risk,omitempty"`
	Reservation   string   `json:"reservation"`
	Suggestions   []string `json:"suggestions,omitempty"`
	Signature     string   `json:"signature"`
}

// checkoutService is the request path. Each optional step below is switched by a lab fault,
// but is written the way the same mistake looks in production code.
type checkoutService struct {
	faults     *faultSet
	inventory  *inventoryClient
	prices     *priceCache
	fraud      *fraudScreener
	stock      *stockFeed
	reindex    *reindexer
	signKey    []byte
	signRounds int
	riskRounds int
	catalog    []string
	journal    *orderJournal // write-ahead log of accepted orders (--journal); nil: none
}

func newCheckoutService(faults *faultSet, downstreamURL string, leakCap int) *checkoutService {
	s := &checkoutService{
		faults:    faults,
		inventory: newInventoryClient(downstreamURL),
		signKey:   []byte("lab-signing-key-not-secret"),
		catalog:   makeCatalog(2000),
	}
	s.prices = newPriceCache(s.catalog)
	s.fraud = newFraudScreener()
	s.stock = newStockFeed(leakCap)
	s.reindex = newReindexer(s.catalog)
	s.calibrate()
	return s
}

// calibrate sizes the CPU work of the normal path (~0.5 ms with JSON) and of the risk model (~4 ms).
func (s *checkoutService) calibrate() {
	c := s.sampleCart(rand.New(rand.NewPCG(1, 2)))
	s.signRounds = calibrate(300*time.Microsecond, func(n int) { s.sign(c, n) })
	s.riskRounds = calibrate(riskModelCost, func(n int) { computeRiskScore(c, n) })
	s.prices.calibrate()
	s.fraud.calibrate(c)
	log.Printf("labsvc: calibrated signRounds=%d riskRounds=%d", s.signRounds, s.riskRounds)
}

func makeCatalog(n int) []string {
	skus := make([]string, n)
	for i := range skus {
		skus[i] = fmt.Sprintf("SKU-%05d", i)
	}
	return skus
}

var categories = []string{"books", "garden", "kitchen", "toys", "outdoor", "office"}

// sampleCart stands in for loading the user's cart from a session store.
func (s *checkoutService) sampleCart(r *rand.Rand) cart {
	c := cart{UserID: fmt.Sprintf("u%06d", r.IntN(1_000_000)), Currency: "EUR"}
	for range 4 + r.IntN(12) {
		c.Items = append(c.Items, cartItem{
			SKU:       s.catalog[r.IntN(len(s.catalog))],
			Qty:       1 + r.IntN(3),
			UnitCents: int64(199 + r.IntN(9800)),
			Category:  categories[r.IntN(len(categories))],
		})
	}
	return c
}

func (s *checkoutService) handleCheckout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := s.sampleCart(rand.New(rand.NewPCG(rand.Uint64(), 0)))
	q, err := s.priceCart(c)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if s.faults.enabled(cpuBound) {
		q.Risk = computeRiskScore(c, s.riskRounds)
	}
	if s.faults.enabled(lockContention) {
		s.prices.refresh(c)
	}
	if s.faults.enabled(channelBlocking) {
		q.Risk = s.fraud.screen(ctx, c)
	}
	if s.faults.enabled(gcPressure) {
		q.Suggestions = s.recommend(c)
	}
	if s.faults.enabled(goroutineLeak) {
		s.stock.watch(c) // never unsubscribed: the leak
	}
	q.Reservation, err = s.inventory.reserve(ctx, c)
	if err != nil {
		http.Error(w, "inventory: "+err.Error(), http.StatusBadGateway)
		return
	}
	if s.journal != nil {
		if err := s.journal.append(c, q); err != nil {
			http.Error(w, "journal: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	s.stock.publish(ctx, c)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(q)
}

// priceCart round-trips the cart through JSON (as when it comes from a session store), totals
// it and signs the quote.
func (s *checkoutService) priceCart(c cart) (quote, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return quote{}, err
	}
	var stored cart
	if err := json.Unmarshal(raw, &stored); err != nil {
		return quote{}, err
	}
	q := quote{UserID: stored.UserID}
	for _, it := range stored.Items {
		line := it.UnitCents * int64(it.Qty)
		q.SubtotalCents += line
		q.TaxCents += line * taxRate(it.Category) / 1000
	}
	q.TotalCents = q.SubtotalCents + q.TaxCents
	q.Signature = s.sign(stored, s.signRounds)
	return q, nil
}

func taxRate(category string) int64 {
	if category == "books" {
		return 70
	}
	return 190
}

// sign chains HMAC-SHA256 over the cart, standing in for a quote-signing step.
func (s *checkoutService) sign(c cart, rounds int) string {
	msg := make([]byte, 0, 256)
	msg = append(msg, c.UserID...)
	for _, it := range c.Items {
		msg = append(msg, it.SKU...)
	}
	mac := hmac.New(sha256.New, s.signKey)
	var sum []byte
	for range rounds {
		mac.Reset()
		mac.Write(sum)
		mac.Write(msg)
		sum = mac.Sum(sum[:0])
	}
	return hex.EncodeToString(sum)
}
