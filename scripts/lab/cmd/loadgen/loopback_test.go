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

func TestResolveAllowed(t *testing.T) {
	if _, err := resolveAllowed("10.231.3.1", "10.231.0.0/16"); err != nil {
		t.Error(err)
	}
	for _, tc := range [][2]string{
		{"10.232.0.1", "10.231.0.0/16"}, // outside the network
		{"8.8.8.8", "8.0.0.0/8"},        // not private
		{"10.0.0.1", "0.0.0.0/0"},       // wider than any private block
		{"example.com", "10.0.0.0/8"},   // never resolved
	} {
		if _, err := resolveAllowed(tc[0], tc[1]); err == nil {
			t.Errorf("%s in %s accepted, want an error", tc[0], tc[1])
		}
	}
	if _, err := newClient("http://10.231.0.1:16201/", 1, clientOptions{allowCIDR: "10.231.0.0/16"}); err != nil {
		t.Error(err)
	}
	if _, err := newClient("http://10.231.0.1:16201/", 1, clientOptions{}); err == nil {
		t.Error("non-loopback accepted without --allow-cidr")
	}
}
