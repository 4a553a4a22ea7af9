package main

import (
	"encoding/json"
	"net/http"
	"sync"
)

// controlAPI is the lab-only fault switch, on its own listener. A diagnosing tool never reads it.
type controlAPI struct {
	mu     sync.Mutex // serialises switches that start or stop background work
	faults *faultSet
	svc    *checkoutService
}

func (c *controlAPI) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fault", c.handleGet)
	mux.HandleFunc("POST /fault", c.handleSet)
	mux.HandleFunc("POST /reset", c.handleReset)
	return mux
}

type faultState struct {
	Faults          map[string]bool `json:"faults"`
	LeakedWatchers  int64           `json:"leakedGoroutines"`
	ReleasedWatcher int64           `json:"releasedGoroutines,omitempty"`
}

func (c *controlAPI) state() faultState {
	return faultState{Faults: c.faults.snapshot(), LeakedWatchers: c.svc.stock.watching()}
}

func (c *controlAPI) handleGet(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, c.state())
}

// handleSet serves POST /fault?name=X&on=1|0.
func (c *controlAPI) handleSet(w http.ResponseWriter, r *http.Request) {
	f, ok := parseFault(r.URL.Query().Get("name"))
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unknown fault", "known": faultNames})
		return
	}
	var on bool
	switch r.URL.Query().Get("on") {
	case "1", "true":
		on = true
	case "0", "false":
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "on must be 1 or 0"})
		return
	}
	c.set(f, on)
	writeJSON(w, http.StatusOK, c.state())
}

// set switches one fault, starting background work before the switch goes on and stopping it
// after the switch goes off, so no request sees a half-started fault.
func (c *controlAPI) set(f fault, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if on {
		switch f {
		case channelBlocking:
			c.svc.fraud.start()
		case schedLatency:
			c.svc.reindex.start()
		}
		c.faults.set(f, true)
		return
	}
	c.faults.set(f, false)
	switch f {
	case channelBlocking:
		c.svc.fraud.stop()
	case schedLatency:
		c.svc.reindex.stop()
	}
	// goroutine-leak: switching it off stops new leaks; the leaked goroutines stay until reset.
}

// reset switches every fault off and releases leaked goroutines; it returns how many it released.
func (c *controlAPI) reset() int64 {
	for f := range numFaults {
		c.set(f, false)
	}
	return c.svc.stock.reset()
}

func (c *controlAPI) handleReset(w http.ResponseWriter, _ *http.Request) {
	released := c.reset()
	st := c.state()
	st.ReleasedWatcher = released
	writeJSON(w, http.StatusOK, st)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
