// Command udpflood sends a bounded UDP datagram flood for the lab's softirq fault: a fixed
// packet rate to one IP literal (loopback or private only) for a fixed time, then one JSON
// summary line on stdout. Aimed at a port nobody listens on, every datagram is received,
// checksummed and dropped by the target's network stack in NET_RX softirq (Udp NoPorts).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	maxPPS      = 2_000_000
	maxDuration = 10 * time.Minute
	maxWorkers  = 16
)

type summary struct {
	Target    string  `json:"target"`
	PPS       float64 `json:"pps"`
	Size      int     `json:"size"`
	Workers   int     `json:"workers"`
	Sent      int64   `json:"sent"`
	Errors    int64   `json:"errors"`
	DurationS float64 `json:"durationS"`
	Achieved  float64 `json:"achievedPps"`
}

func main() {
	target := flag.String("target", "", "destination IP:PORT; the IP must be a loopback or private (RFC 1918) literal")
	pps := flag.Float64("pps", 100_000, "datagrams per second, all workers together (at most 2M)")
	duration := flag.Duration("duration", 10*time.Second, "how long to send (at most 10m)")
	size := flag.Int("size", 512, "UDP payload bytes (1..1472)")
	workers := flag.Int("workers", 1, "sending goroutines (1..16), each with its own socket")
	flag.Parse()

	dst, err := validate(*target, *pps, *duration, *size, *workers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "udpflood:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()

	var sent, errs atomic.Int64
	payload := make([]byte, *size)
	for i := range payload {
		payload[i] = byte(i)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range *workers {
		conn, err := net.ListenUDP("udp", nil) // unconnected: ICMP port-unreachable replies never fail a write
		if err != nil {
			fmt.Fprintln(os.Stderr, "udpflood:", err)
			os.Exit(1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			send(ctx, conn, dst, payload, *pps/float64(*workers), start, &sent, &errs)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	_ = json.NewEncoder(os.Stdout).Encode(summary{
		Target: dst.String(), PPS: *pps, Size: *size, Workers: *workers,
		Sent: sent.Load(), Errors: errs.Load(), DurationS: elapsed.Seconds(),
		Achieved: float64(sent.Load()) / elapsed.Seconds(),
	})
}

func validate(target string, pps float64, d time.Duration, size, workers int) (netip.AddrPort, error) {
	dst, err := netip.ParseAddrPort(target)
	switch {
	case err != nil:
		return dst, fmt.Errorf("--target must be IP:PORT with an IP literal: %v", err)
	case !dst.Addr().IsLoopback() && !dst.Addr().IsPrivate():
		return dst, fmt.Errorf("--target %s is neither loopback nor private", dst.Addr())
	case pps <= 0 || pps > maxPPS:
		return dst, fmt.Errorf("--pps must be in (0, %d]", maxPPS)
	case d <= 0 || d > maxDuration:
		return dst, fmt.Errorf("--duration must be in (0, %v]", maxDuration)
	case size < 1 || size > 1472:
		return dst, errors.New("--size must be in [1, 1472]")
	case workers < 1 || workers > maxWorkers:
		return dst, fmt.Errorf("--workers must be in [1, %d]", maxWorkers)
	}
	return dst, nil
}

// send keeps this worker's count at rate*elapsed, catching up in bursts after a sleep; it never
// sends more than one second's worth at once.
func send(ctx context.Context, conn *net.UDPConn, dst netip.AddrPort, payload []byte, rate float64, start time.Time, sent, errs *atomic.Int64) {
	var mine int64
	for ctx.Err() == nil {
		due := int64(time.Since(start).Seconds() * rate)
		if due-mine > int64(rate) {
			mine = due - int64(rate) // far behind (starved of CPU): do not burst without bound
		}
		if mine >= due {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		for n := 0; mine < due && n < 256; n++ {
			if _, err := conn.WriteToUDPAddrPort(payload, dst); err != nil {
				errs.Add(1)
			} else {
				sent.Add(1)
			}
			mine++
		}
	}
}
