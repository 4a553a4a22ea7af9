package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// orderJournal is the service's write-ahead log of accepted orders (--journal=DIR). Every
// checkout appends one JSON line and fsyncs the segment before the response goes out, so an
// order the client saw confirmed survives a crash. Segments rotate at segmentBytes; only the
// newest keepSegments stay on disk (older ones count as checkpointed).
//
// Appends are serialised only for the write; the fsync runs outside the lock, so concurrent
// requests share the device like any group-committing log does. With a sync interval the
// journal instead fsyncs in the background every interval (like Redis' appendfsync everysec):
// requests only write to the page cache and up to one interval of orders can be lost.
type orderJournal struct {
	dir          string
	segmentBytes int64
	keepSegments int
	receipt      []byte        // rendered receipt stored with every order ("" unless --journal-receipt-bytes)
	syncEvery    time.Duration // 0: fsync before answering; > 0: background fsync at this interval
	orders       atomic.Uint64
	stopSync     chan struct{}
	syncDone     chan struct{}

	mu   sync.Mutex
	f    *os.File
	size int64
	segs []int // sequence numbers of the segments on disk, oldest first
}

// orderRecord is one journal line.
type orderRecord struct {
	Order       uint64     `json:"order"`
	At          string     `json:"at"`
	UserID      string     `json:"userId"`
	Currency    string     `json:"currency"`
	Items       []cartItem `json:"items"`
	TotalCents  int64      `json:"totalCents"`
	Reservation string     `json:"reservation"`
	Signature   string     `json:"signature"`
}

const journalKeepSegments = 2

// openJournal creates dir if needed and starts a new segment after any existing ones.
func openJournal(dir string, segmentBytes int64, receiptBytes int, syncEvery time.Duration) (*orderJournal, error) {
	if segmentBytes < 1<<20 {
		return nil, fmt.Errorf("journal segment size %d below 1 MiB", segmentBytes)
	}
	if receiptBytes < 0 || int64(receiptBytes) > segmentBytes/4 {
		return nil, fmt.Errorf("journal receipt size %d must be in [0, segment/4]", receiptBytes)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if syncEvery < 0 {
		return nil, fmt.Errorf("journal sync interval %v < 0", syncEvery)
	}
	j := &orderJournal{dir: dir, segmentBytes: segmentBytes, keepSegments: journalKeepSegments, receipt: renderReceipt(receiptBytes), syncEvery: syncEvery}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if n, ok := segmentSeq(e.Name()); ok {
			j.segs = append(j.segs, n)
		}
	}
	slices.Sort(j.segs)
	if err := j.rotateLocked(); err != nil {
		return nil, err
	}
	if syncEvery > 0 {
		j.stopSync, j.syncDone = make(chan struct{}), make(chan struct{})
		go j.syncLoop()
	}
	return j, nil
}

// syncLoop fsyncs the current segment every syncEvery until close.
func (j *orderJournal) syncLoop() {
	defer close(j.syncDone)
	t := time.NewTicker(j.syncEvery)
	defer t.Stop()
	for {
		select {
		case <-j.stopSync:
			return
		case <-t.C:
			j.mu.Lock()
			f := j.f
			j.mu.Unlock()
			if f != nil {
				if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
					log.Printf("labsvc: journal sync: %v", err)
				}
			}
		}
	}
}

func segmentName(seq int) string { return fmt.Sprintf("orders-%08d.wal", seq) }

func segmentSeq(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, "orders-")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".wal")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// renderReceipt stands in for the printable receipt (an invoice document) some shops keep with
// the order; its size is what matters to the page cache, not its content.
func renderReceipt(n int) []byte {
	if n == 0 {
		return nil
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[(i*7+i/64)%len(alphabet)]
	}
	return b
}

// rotateLocked syncs and closes the current segment, opens the next one and removes segments
// beyond keepSegments. The caller holds mu (or is openJournal).
func (j *orderJournal) rotateLocked() error {
	if j.f != nil {
		// Writers that appended to this segment may still be about to fsync it: this sync makes
		// their records durable before the close, so their Sync on the closed file may fail
		// with os.ErrClosed harmlessly (see append).
		if err := j.f.Sync(); err != nil {
			return err
		}
		if err := j.f.Close(); err != nil {
			return err
		}
		j.f = nil
	}
	next := 1
	if len(j.segs) > 0 {
		next = j.segs[len(j.segs)-1] + 1
	}
	f, err := os.OpenFile(filepath.Join(j.dir, segmentName(next)), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	j.f, j.size = f, 0
	j.segs = append(j.segs, next)
	for len(j.segs) > j.keepSegments {
		_ = os.Remove(filepath.Join(j.dir, segmentName(j.segs[0])))
		j.segs = j.segs[1:]
	}
	return nil
}

// append writes the order to the journal and returns once it is on stable storage.
func (j *orderJournal) append(c cart, q quote) error {
	rec := orderRecord{
		Order:       j.orders.Add(1),
		At:          time.Now().UTC().Format(time.RFC3339Nano),
		UserID:      c.UserID,
		Currency:    c.Currency,
		Items:       c.Items,
		TotalCents:  q.TotalCents,
		Reservation: q.Reservation,
		Signature:   q.Signature,
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	// The receipt is written from the shared rendered copy (its alphabet needs no JSON escaping),
	// so a large receipt costs page cache, not heap.
	parts := [][]byte{append(line, '\n')}
	if len(j.receipt) > 0 {
		parts = [][]byte{append(line[:len(line)-1], `,"receipt":"`...), j.receipt, []byte("\"}\n")}
	}
	n := int64(0)
	for _, p := range parts {
		n += int64(len(p))
	}

	j.mu.Lock()
	if j.f == nil {
		j.mu.Unlock()
		return errors.New("journal closed")
	}
	if j.size > 0 && j.size+n > j.segmentBytes {
		if err := j.rotateLocked(); err != nil {
			j.mu.Unlock()
			return err
		}
	}
	f := j.f
	for _, p := range parts {
		if _, err = f.Write(p); err != nil {
			break
		}
	}
	j.size += n
	j.mu.Unlock()
	if err != nil {
		return err
	}
	if j.syncEvery > 0 {
		return nil // the background sync makes it durable within one interval
	}
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err // ErrClosed: a rotation synced this segment after our write, then closed it
	}
	return nil
}

// close syncs and closes the current segment; later appends fail.
func (j *orderJournal) close() error {
	if j.stopSync != nil {
		close(j.stopSync)
		<-j.syncDone
		j.stopSync = nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := errors.Join(j.f.Sync(), j.f.Close())
	j.f = nil
	return err
}
