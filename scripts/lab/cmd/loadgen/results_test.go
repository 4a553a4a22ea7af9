package main

import (
	"testing"
	"time"
)

func TestRankMsNearestRank(t *testing.T) {
	var l []time.Duration
	for i := 1; i <= 1000; i++ {
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want float64
	}{{0.50, 500}, {0.90, 900}, {0.99, 990}, {0.999, 999}, {1, 1000}} {
		if got := rankMs(l, tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := rankMs([]time.Duration{7 * time.Millisecond}, 0.99); got != 7 {
		t.Errorf("single sample p99 = %v, want 7", got)
	}
	if got := rankMs(nil, 0.99); got != 0 {
		t.Errorf("empty p99 = %v, want 0", got)
	}
}

func TestTallyCountsDroppedAsErrorsAndSkipsAborted(t *testing.T) {
	var ty tally
	ty.add(outcomeOK, time.Millisecond)
	ty.add(outcomeError, 2*time.Millisecond)
	ty.add(outcomeDropped, 10*time.Second)
	ty.add(outcomeAborted, time.Hour)
	s := ty.summarize(50, time.Second)
	if s.Sent != 3 || s.OK != 1 || s.Errors != 2 || s.Dropped != 1 || s.Aborted != 1 {
		t.Fatalf("counts = %+v", s)
	}
	if s.MaxMs != 10_000 {
		t.Errorf("max = %v ms, want the dropped request's timeout (10000)", s.MaxMs)
	}
}
