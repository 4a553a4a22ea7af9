package main

import (
	"slices"
	"time"
)

// calibrate returns how many units of fn take about target on this machine. The lab sizes
// each fault's work once at startup, so a fault has the same cost on a fast laptop and a slow
// CI runner; after that the work per request is a fixed amount, as in real code.
func calibrate(target time.Duration, fn func(units int)) int {
	n := 1
	for {
		start := time.Now()
		fn(n)
		if time.Since(start) >= 2*time.Millisecond || n >= 1<<30 {
			break
		}
		n *= 2
	}
	var runs [5]time.Duration // median of five: the machine is shared and noisy
	for i := range runs {
		start := time.Now()
		fn(n)
		runs[i] = time.Since(start)
	}
	slices.Sort(runs[:])
	return max(1, int(float64(n)*float64(target)/float64(runs[len(runs)/2])))
}
