package main

import (
	"slices"
	"strconv"
)

// recommendStrategies are scored separately and merged, as recommendation services often do.
var recommendStrategies = []string{"similar", "bought-together", "trending", "personal"}

var featureWeights = [...]float64{0.9, 0.1, 0.4, 0.7, 0.2, 0.8, 0.3, 0.6}

type candidate struct {
	SKU      string
	Strategy string
	Score    float64
	Features []float64
	Reasons  []string
}

// recommend scores every catalog product under every strategy and keeps the top five. It builds
// a fresh candidate (with its own feature and reason slices) per product and strategy on every
// call: about 4 MB (~40k objects) of small, short-lived, pointer-rich garbage per request.
func (s *checkoutService) recommend(c cart) []string {
	inCart := make(map[string]bool, len(c.Items))
	for _, it := range c.Items {
		inCart[it.SKU] = true
	}
	cands := make([]*candidate, 0, len(s.catalog)*len(recommendStrategies))
	for si, strategy := range recommendStrategies {
		for i, sku := range s.catalog {
			if inCart[sku] {
				continue
			}
			cd := &candidate{SKU: sku, Strategy: strategy, Features: make([]float64, 48)}
			base := float64((i*31+si*7)%101) / 101
			for f := range cd.Features {
				cd.Features[f] = base * featureWeights[f%len(featureWeights)]
			}
			cd.Score = cd.Features[0] + cd.Features[7] - cd.Features[13]
			cd.Reasons = []string{strategy + ":" + strconv.Itoa(i%97), "rank:" + strconv.Itoa(int(cd.Score))}
			cands = append(cands, cd)
		}
	}
	slices.SortFunc(cands, func(a, b *candidate) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	top := make([]string, 0, 5)
	for _, cd := range cands[:min(5, len(cands))] {
		top = append(top, cd.SKU)
	}
	return top
}
