package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestJournalAppendsRotatesAndKeepsTwoSegments(t *testing.T) {
	for _, every := range []time.Duration{0, 10 * time.Millisecond} {
		dir := t.TempDir()
		j, err := openJournal(dir, 1<<20, 100_000, every)
		if err != nil {
			t.Fatal(err)
		}
		c := cart{UserID: "u1", Currency: "EUR", Items: []cartItem{{SKU: "SKU-00001", Qty: 1, UnitCents: 100, Category: "books"}}}
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					if err := j.append(c, quote{TotalCents: 107, Reservation: "r", Signature: "s"}); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if err := j.close(); err != nil {
			t.Fatal(err)
		}
		if err := j.append(c, quote{}); err == nil {
			t.Error("append after close succeeded")
		}
		segs, _ := filepath.Glob(filepath.Join(dir, "orders-*.wal"))
		if len(segs) != journalKeepSegments {
			t.Fatalf("%d segments on disk, want %d: %v", len(segs), journalKeepSegments, segs)
		}
		// 80 records of ~100 KB in 1 MiB segments: every kept line is one complete JSON record.
		for _, s := range segs {
			f, err := os.Open(s)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
			lines := 0
			for sc.Scan() {
				var rec struct {
					Order   uint64 `json:"order"`
					Receipt string `json:"receipt"`
				}
				if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Order == 0 || len(rec.Receipt) != 100_000 {
					t.Fatalf("%s line %d: bad record (%v)", s, lines, err)
				}
				lines++
			}
			f.Close()
			if lines == 0 || lines > 10 {
				t.Errorf("%s: %d records, want 1..10", s, lines)
			}
		}
	}
}

func TestJournalRejectsBadSizes(t *testing.T) {
	if _, err := openJournal(t.TempDir(), 1000, 0, 0); err == nil {
		t.Error("tiny segment accepted")
	}
	if _, err := openJournal(t.TempDir(), 1<<20, 1<<20, 0); err == nil {
		t.Error("receipt larger than a quarter segment accepted")
	}
}
