package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// inventoryClient calls the downstream inventory service with an ordinary pooled client.
type inventoryClient struct {
	base string
	http *http.Client
}

func newInventoryClient(base string) *inventoryClient {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256, // the default of 2 would churn connections under concurrency
		IdleConnTimeout:     60 * time.Second,
	}
	return &inventoryClient{base: base, http: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
}

type reservation struct {
	ID string `json:"id"`
}

// reserve asks the inventory service to hold the cart's items.
func (c *inventoryClient) reserve(ctx context.Context, ct cart) (string, error) {
	skus := make([]string, len(ct.Items))
	for i, it := range ct.Items {
		skus[i] = it.SKU
	}
	u := c.base + "/inventory?skus=" + url.QueryEscape(strings.Join(skus, ","))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	var r reservation
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return "", err
	}
	return r.ID, nil
}

// inventoryServer is the service's own downstream dependency, on its own listener, so that a slow
// dependency is a real network wait for the checkout path.
type inventoryServer struct {
	faults *faultSet
}

func newInventoryServer(faults *faultSet) *inventoryServer { return &inventoryServer{faults: faults} }

func (s *inventoryServer) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /inventory", s.handleInventory)
	return mux
}

func (s *inventoryServer) handleInventory(w http.ResponseWriter, r *http.Request) {
	skus := strings.Split(r.URL.Query().Get("skus"), ",")
	// A storage lookup normally costs about a millisecond.
	wait := 600*time.Microsecond + rand.N(400*time.Microsecond)
	if s.faults.enabled(downstreamSlow) {
		wait = 80*time.Millisecond + rand.N(170*time.Millisecond) // a degraded dependency: 80-250 ms
	}
	select {
	case <-time.After(wait):
	case <-r.Context().Done():
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(reservation{ID: fmt.Sprintf("rsv-%d-%x", len(skus), rand.Uint32())})
}
