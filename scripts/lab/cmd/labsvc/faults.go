package main

import (
	"sync/atomic"
)

// fault identifies one switchable latency fault. Faults are independent booleans.
type fault int

const (
	gcPressure fault = iota
	lockContention
	channelBlocking
	cpuBound
	goroutineLeak
	schedLatency
	downstreamSlow
	numFaults
)

// faultNames are the control API's names. They appear only on the control listener: never in
// metrics, labels or function names, so a diagnosing tool cannot read the answer.
var faultNames = [numFaults]string{
	gcPressure:      "gc-pressure",
	lockContention:  "lock-contention",
	channelBlocking: "channel-blocking",
	cpuBound:        "cpu-bound",
	goroutineLeak:   "goroutine-leak",
	schedLatency:    "sched-latency",
	downstreamSlow:  "downstream-slow",
}

// faultSet holds the switches; the request path reads them with one atomic load each.
type faultSet struct {
	on [numFaults]atomic.Bool
}

func newFaultSet() *faultSet { return &faultSet{} }

// enabled reports whether f is switched on.
func (s *faultSet) enabled(f fault) bool { return s.on[f].Load() }

// set switches f and reports whether the value changed.
func (s *faultSet) set(f fault, on bool) bool { return s.on[f].Swap(on) != on }

// parseFault maps a control-API name to its fault.
func parseFault(name string) (fault, bool) {
	for f, n := range faultNames {
		if n == name {
			return fault(f), true
		}
	}
	return 0, false
}

// snapshot returns name → on for every fault.
func (s *faultSet) snapshot() map[string]bool {
	m := make(map[string]bool, numFaults)
	for f, n := range faultNames {
		m[n] = s.on[f].Load()
	}
	return m
}
