package main

import "testing"

func TestResolveLoopback(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "127.1.2.3", "::1", "localhost", "api.localhost"} {
		if _, err := resolveLoopback(host); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	// Rejected without any DNS query.
	for _, host := range []string{"10.0.0.1", "0.0.0.0", "example.com", "127.0.0.1.nip.io"} {
		if _, err := resolveLoopback(host); err == nil {
			t.Errorf("%s: accepted, want an error", host)
		}
	}
}

func TestNewLoopbackClientRejectsSchemes(t *testing.T) {
	if _, err := newLoopbackClient("ftp://127.0.0.1/", 1); err == nil {
		t.Error("ftp accepted")
	}
	if _, err := newLoopbackClient("http://127.0.0.1:18080/api/checkout", 1); err != nil {
		t.Error(err)
	}
}
