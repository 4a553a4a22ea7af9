package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// newLoopbackClient returns a client that can only reach the loopback address rawURL names.
// The host is resolved once here and every connection dials that address, so neither a DNS
// change nor a redirect can send traffic elsewhere.
func newLoopbackClient(rawURL string, maxInflight int) (*http.Client, error) {
	return newClient(rawURL, maxInflight, clientOptions{keepAlive: true})
}

// clientOptions widen or change newLoopbackClient's defaults.
type clientOptions struct {
	allowCIDR string // "" or a private network whose IP literals are accepted besides loopback
	keepAlive bool
}

// newClient is newLoopbackClient with options: with allowCIDR an IP literal inside that private
// network is accepted too (a lab veth address reached from a network namespace); names are
// still never resolved.
func newClient(rawURL string, maxInflight int, o clientOptions) (*http.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("--url: scheme must be http or https, got %q", u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("--url: no host in %q", rawURL)
	}
	ip, err := resolveLoopback(host)
	if err != nil && o.allowCIDR != "" {
		ip, err = resolveAllowed(host, o.allowCIDR)
	}
	if err != nil {
		return nil, err
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	target := net.JoinHostPort(ip.String(), port)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, target)
		},
		MaxIdleConns:        maxInflight,
		MaxIdleConnsPerHost: maxInflight, // keep connections alive across arrivals
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
		DisableKeepAlives:   !o.keepAlive,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // never follow a redirect off the target
		},
	}, nil
}

// resolveLoopback returns the loopback address host names. Only IP literals and "localhost"
// are accepted: resolving any other name would itself send a DNS query off the machine.
func resolveLoopback(host string) (net.IP, error) {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return net.IPv4(127, 0, 0, 1), nil // RFC 6761: localhost names are loopback
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return nil, fmt.Errorf("--url: host %q must be a loopback IP literal or localhost; loadgen never resolves other names", host)
	}
	if !ip.IsLoopback() {
		return nil, fmt.Errorf("--url: %s is not a loopback address; loadgen only targets 127.0.0.0/8 or ::1", host)
	}
	return ip, nil
}

// resolveAllowed accepts an IP literal inside cidr, which must itself be a private network.
func resolveAllowed(host, cidr string) (net.IP, error) {
	_, network, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("--allow-cidr: %w", err)
	}
	last := make(net.IP, len(network.IP))
	for i := range network.IP {
		last[i] = network.IP[i] | ^network.Mask[i]
	}
	if !network.IP.IsPrivate() || !last.IsPrivate() {
		return nil, fmt.Errorf("--allow-cidr: %s is not a private (RFC 1918 / ULA) network", cidr)
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return nil, fmt.Errorf("--url: host %q must be an IP literal; loadgen never resolves names", host)
	}
	if !network.Contains(ip) {
		return nil, fmt.Errorf("--url: %s is neither loopback nor inside --allow-cidr %s", host, cidr)
	}
	return ip, nil
}
