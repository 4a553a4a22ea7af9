package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	registerMetrics(false)
	os.Exit(m.Run())
}

// goroutinesIn counts live goroutines whose stack contains fn (no package prefix: in a test
// binary package main is named by its import path).
func goroutinesIn(fn string) int {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 2)
	n := 0
	for _, g := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

// eventually polls cond for up to 5 s.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// newTestLab wires the service as main does, with httptest listeners.
func newTestLab(t *testing.T) (api, control *httptest.Server, svc *checkoutService) {
	t.Helper()
	faults := newFaultSet()
	down := httptest.NewServer(newInventoryServer(faults).mux())
	t.Cleanup(down.Close)
	svc = newCheckoutService(faults, down.URL, 1000)
	ctl := &controlAPI{faults: faults, svc: svc}
	t.Cleanup(func() { ctl.reset() })
	api = httptest.NewServer(apiMux(svc))
	t.Cleanup(api.Close)
	control = httptest.NewServer(ctl.mux())
	t.Cleanup(control.Close)
	return api, control, svc
}

func post(t *testing.T, url string) faultState {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
	var st faultState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func checkout(t *testing.T, api *httptest.Server) {
	t.Helper()
	resp, err := http.Get(api.URL + "/api/checkout")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("checkout: %s", resp.Status)
	}
}

func TestEveryFaultServesRequestsAndSwitchesOff(t *testing.T) {
	api, control, _ := newTestLab(t)
	for _, name := range faultNames {
		if st := post(t, control.URL+"/fault?name="+name+"&on=1"); !st.Faults[name] {
			t.Fatalf("%s not on: %+v", name, st)
		}
		checkout(t, api)
		if st := post(t, control.URL+"/fault?name="+name+"&on=0"); st.Faults[name] {
			t.Fatalf("%s still on", name)
		}
	}
	if n := goroutinesIn("(*stockWatcher).run"); n != 1 {
		t.Errorf("%d leaked watchers before reset, want 1", n)
	}
	st := post(t, control.URL+"/reset")
	if st.LeakedWatchers != 0 || st.ReleasedWatcher != 1 {
		t.Errorf("after reset: %+v, want 0 leaked and 1 released", st)
	}
	for _, fn := range []string{"(*stockWatcher).run", "(*reindexer).rebuild", "(*fraudScreener).worker"} {
		if !eventually(func() bool { return goroutinesIn(fn) == 0 }) {
			t.Errorf("%d goroutines still in %s after reset", goroutinesIn(fn), fn)
		}
	}
}

func TestBackgroundFaultsStartAndStop(t *testing.T) {
	_, control, _ := newTestLab(t)
	for _, tc := range []struct {
		name, fn string
		want     int
	}{
		{"sched-latency", "(*reindexer).rebuild", 8 * runtime.GOMAXPROCS(0)},
		{"channel-blocking", "(*fraudScreener).worker", fraudWorkers},
	} {
		post(t, control.URL+"/fault?name="+tc.name+"&on=1")
		// A goroutine that has not run yet shows only its go-statement wrapper: poll.
		if !eventually(func() bool { return goroutinesIn(tc.fn) == tc.want }) {
			t.Errorf("%s on: %d goroutines in %s, want %d", tc.name, goroutinesIn(tc.fn), tc.fn, tc.want)
		}
		post(t, control.URL+"/fault?name="+tc.name+"&on=0")
		if !eventually(func() bool { return goroutinesIn(tc.fn) == 0 }) {
			t.Errorf("%s off: %d goroutines in %s, want 0", tc.name, goroutinesIn(tc.fn), tc.fn)
		}
	}
}

func TestControlRejectsBadInput(t *testing.T) {
	_, control, _ := newTestLab(t)
	for _, q := range []string{"name=nope&on=1", "name=cpu-bound&on=yes", ""} {
		resp, err := http.Post(control.URL+"/fault?"+q, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%q: %s, want 400", q, resp.Status)
		}
	}
}

func TestMetricsExposeOnlyNeutralNames(t *testing.T) {
	api, control, _ := newTestLab(t)
	for _, name := range faultNames {
		post(t, control.URL+"/fault?name="+name+"&on=1")
	}
	checkout(t, api)
	resp, err := http.Get(api.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := string(raw)
	for _, name := range faultNames {
		if strings.Contains(body, name) {
			t.Errorf("/metrics mentions fault %q", name)
		}
	}
	if !strings.Contains(body, `http_request_duration_seconds_bucket{code="200",handler="/api/checkout",method="get"`) {
		t.Error("/metrics lacks the request histogram")
	}
}
