package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/store"
)

func openQueue(t *testing.T) *Store {
	t.Helper()
	return openT(t, filepath.Join(t.TempDir(), "queue.db"))
}

func msgs(at time.Time, ids ...string) []store.QueuedMessage {
	out := make([]store.QueuedMessage, len(ids))
	for i, id := range ids {
		out[i] = store.QueuedMessage{ID: id, Body: []byte("body-" + id), AvailableAt: at}
	}
	return out
}

func deliveryIDs(ds []store.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func TestQueueEnqueueIsIdempotentAndReceiveHides(t *testing.T) {
	ctx := context.Background()
	s := openQueue(t)
	now := t0
	if err := s.Enqueue(ctx, "q", msgs(now, "a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	// The same IDs again, one with another body: nothing changes.
	again := msgs(now, "a", "b")
	again[0].Body = []byte("other")
	if err := s.Enqueue(ctx, "q", again); err != nil {
		t.Fatal(err)
	}
	got, err := s.Receive(ctx, "q", 2, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(deliveryIDs(got)) != "[a b]" {
		t.Fatalf("first receive = %v, want [a b] (enqueue order)", deliveryIDs(got))
	}
	if string(got[0].Body) != "body-a" || got[0].ReceiveCount != 1 || got[0].LastError != "" {
		t.Fatalf("delivery = %+v", got[0])
	}
	// a and b are in flight: only c is due.
	got, err = s.Receive(ctx, "q", 10, time.Minute, now)
	if err != nil || fmt.Sprint(deliveryIDs(got)) != "[c]" {
		t.Fatalf("second receive = %v, %v; want [c]", deliveryIDs(got), err)
	}
	if got, _ := s.Receive(ctx, "q", 10, time.Minute, now.Add(59*time.Second)); len(got) != 0 {
		t.Fatalf("in-flight messages delivered again before the visibility timeout: %v", deliveryIDs(got))
	}
	// Re-enqueueing an in-flight message does not make it due.
	if err := s.Enqueue(ctx, "q", msgs(now, "a")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Receive(ctx, "q", 10, time.Minute, now.Add(time.Second)); len(got) != 0 {
		t.Fatalf("re-enqueue revived an in-flight message: %v", deliveryIDs(got))
	}
	// The visibility timeout passes without an ack: delivered again, counted.
	got, err = s.Receive(ctx, "q", 10, time.Minute, now.Add(time.Minute))
	if err != nil || fmt.Sprint(deliveryIDs(got)) != "[a b c]" {
		t.Fatalf("after visibility = %v, %v; want [a b c]", deliveryIDs(got), err)
	}
	if got[0].ReceiveCount != 2 {
		t.Fatalf("receive count = %d, want 2", got[0].ReceiveCount)
	}
	// Zero or negative max receives nothing.
	if got, err := s.Receive(ctx, "q", 0, time.Minute, now.Add(time.Hour)); err != nil || len(got) != 0 {
		t.Fatalf("max 0 = %v, %v", got, err)
	}
}

func TestQueueFutureMessagesAndQueuesAreSeparate(t *testing.T) {
	ctx := context.Background()
	s := openQueue(t)
	if err := s.Enqueue(ctx, "q", msgs(t0.Add(time.Hour), "later")); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, "other", msgs(t0, "x")); err != nil {
		t.Fatal(err)
	}
	// The same ID in another queue is another message.
	if err := s.Enqueue(ctx, "other", msgs(t0, "later")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Receive(ctx, "q", 10, time.Minute, t0); len(got) != 0 {
		t.Fatalf("a message due in an hour was delivered now: %v", deliveryIDs(got))
	}
	got, _ := s.Receive(ctx, "q", 10, time.Minute, t0.Add(time.Hour))
	if fmt.Sprint(deliveryIDs(got)) != "[later]" {
		t.Fatalf("due message = %v", deliveryIDs(got))
	}
	got, _ = s.Receive(ctx, "other", 10, time.Minute, t0)
	if fmt.Sprint(deliveryIDs(got)) != "[x later]" {
		t.Fatalf("other queue = %v", deliveryIDs(got))
	}
	// A zero AvailableAt is due at once.
	if err := s.Enqueue(ctx, "z", []store.QueuedMessage{{ID: "now"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Receive(ctx, "z", 10, time.Minute, t0); len(got) != 1 || len(got[0].Body) != 0 {
		t.Fatalf("zero-time message = %+v", got)
	}
	if err := s.Enqueue(ctx, "", msgs(t0, "a")); err == nil {
		t.Fatal("empty queue name accepted")
	}
	if err := s.Enqueue(ctx, "q", []store.QueuedMessage{{ID: ""}}); err == nil {
		t.Fatal("empty message id accepted")
	}
}

func TestQueueAckRemembersTheID(t *testing.T) {
	ctx := context.Background()
	s := openQueue(t)
	if err := s.Enqueue(ctx, "q", msgs(t0, "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Receive(ctx, "q", 1, time.Minute, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, "q", "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, "q", "a"); err != nil {
		t.Fatalf("second ack: %v", err)
	}
	if err := s.Enqueue(ctx, "q", msgs(t0, "a")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Receive(ctx, "q", 10, time.Minute, t0.Add(24*time.Hour)); len(got) != 0 {
		t.Fatalf("an acknowledged message was delivered again: %v", deliveryIDs(got))
	}
	// Retry and dead-letter of a done message are no-ops.
	if err := s.Retry(ctx, "q", "a", t0, "late"); err != nil {
		t.Fatalf("retry after ack: %v", err)
	}
	if err := s.DeadLetter(ctx, "q", "a", "late"); err != nil {
		t.Fatalf("dead-letter after ack: %v", err)
	}
	if got, _ := s.Receive(ctx, "q", 10, time.Minute, t0.Add(24*time.Hour)); len(got) != 0 {
		t.Fatalf("retry revived an acknowledged message: %v", deliveryIDs(got))
	}
	if dl, _, _ := s.DeadLetters(ctx, "q", store.Page{}); len(dl) != 0 {
		t.Fatalf("an acknowledged message was dead-lettered: %v", deliveryIDs(dl))
	}
	for name, err := range map[string]error{
		"ack":         s.Ack(ctx, "q", "nope"),
		"retry":       s.Retry(ctx, "q", "nope", t0, ""),
		"dead-letter": s.DeadLetter(ctx, "q", "nope", ""),
		"other queue": s.Ack(ctx, "other", "a"),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s of an unknown message = %v, want ErrNotFound", name, err)
		}
	}
}

func TestQueueRetryAndDeadLetter(t *testing.T) {
	ctx := context.Background()
	s := openQueue(t)
	if err := s.Enqueue(ctx, "q", msgs(t0, "a", "b")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Receive(ctx, "q", 2, time.Minute, t0); err != nil {
		t.Fatal(err)
	}
	// Retry a in 5 s (sooner than its visibility timeout).
	if err := s.Retry(ctx, "q", "a", t0.Add(5*time.Second), "boom 1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Receive(ctx, "q", 10, time.Minute, t0.Add(4*time.Second)); len(got) != 0 {
		t.Fatalf("retried message delivered early: %v", deliveryIDs(got))
	}
	got, _ := s.Receive(ctx, "q", 10, time.Minute, t0.Add(5*time.Second))
	if len(got) != 1 || got[0].ID != "a" || got[0].ReceiveCount != 2 || got[0].LastError != "boom 1" {
		t.Fatalf("retried delivery = %+v", got)
	}
	if err := s.DeadLetter(ctx, "q", "a", "boom 2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeadLetter(ctx, "q", "a", "again"); err != nil {
		t.Fatalf("second dead-letter: %v", err)
	}
	if err := s.DeadLetter(ctx, "q", "b", "bad body"); err != nil {
		t.Fatal(err)
	}
	// Never delivered again, and not revived by a re-enqueue.
	if err := s.Enqueue(ctx, "q", msgs(t0, "a", "b")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Receive(ctx, "q", 10, time.Minute, t0.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("dead letters delivered: %v", deliveryIDs(got))
	}
	dl, next, err := s.DeadLetters(ctx, "q", store.Page{Limit: 1})
	if err != nil || len(dl) != 1 || next == "" {
		t.Fatalf("dead letters page 1 = %v, %q, %v", dl, next, err)
	}
	if d := dl[0]; d.ID != "b" || string(d.Body) != "body-b" || d.ReceiveCount != 1 || d.LastError != "bad body" {
		t.Fatalf("newest dead letter = %+v", d)
	}
	dl, next, err = s.DeadLetters(ctx, "q", store.Page{Limit: 1, Cursor: next})
	if err != nil || len(dl) != 1 || next != "" {
		t.Fatalf("dead letters page 2 = %v, %q, %v", dl, next, err)
	}
	if d := dl[0]; d.ID != "a" || string(d.Body) != "body-a" || d.ReceiveCount != 2 || d.LastError != "boom 2" {
		t.Fatalf("older dead letter = %+v", d)
	}
	if dl, _, _ := s.DeadLetters(ctx, "other", store.Page{}); len(dl) != 0 {
		t.Fatalf("dead letters leak across queues: %v", deliveryIDs(dl))
	}
	if _, _, err := s.DeadLetters(ctx, "q", store.Page{Cursor: "bogus"}); !errors.Is(err, store.ErrBadCursor) {
		t.Fatalf("bad cursor = %v", err)
	}
	if _, _, err := s.DeadLetters(ctx, "q", store.Page{Cursor: encodeCursor("x1")}); !errors.Is(err, store.ErrBadCursor) {
		t.Fatalf("non-numeric cursor = %v", err)
	}

	// Pruning forgets acknowledged IDs but dead letters stay remembered.
	if err := s.Enqueue(ctx, "q", msgs(t0, "c")); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, "q", "c"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneQueue(ctx, time.Now().Add(time.Hour)); err != nil || n != 3 {
		t.Fatalf("PruneQueue = %d, %v; want 3 rows", n, err)
	}
	if err := s.Enqueue(ctx, "q", msgs(t0, "a", "c")); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Receive(ctx, "q", 10, time.Minute, t0.Add(time.Hour))
	if fmt.Sprint(deliveryIDs(got)) != "[c]" {
		t.Fatalf("after pruning = %v, want [c] only (a is a dead letter)", deliveryIDs(got))
	}
}

// Concurrent receivers never get the same message while it is in flight,
// and every message is delivered.
func TestQueueConcurrentReceivers(t *testing.T) {
	ctx := context.Background()
	s := openQueue(t)
	const n = 200
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("m%03d", i))
	}
	if err := s.Enqueue(ctx, "q", msgs(t0, ids...)); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for {
				got, err := s.Receive(ctx, "q", 7, time.Hour, t0)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				for _, d := range got {
					mu.Lock()
					seen[d.ID]++
					mu.Unlock()
					if err := s.Ack(ctx, "q", d.ID); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("delivered %d distinct messages, want %d", len(seen), n)
	}
	var dup []string
	for id, c := range seen {
		if c != 1 {
			dup = append(dup, id)
		}
	}
	sort.Strings(dup)
	if len(dup) > 0 {
		t.Fatalf("delivered more than once: %v", dup)
	}
}

// Messages survive reopening the file, in flight or not.
func TestQueueIsDurable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "durable.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, "q", msgs(t0, "a", "b")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Receive(ctx, "q", 1, time.Minute, t0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openT(t, path)
	got, err := s.Receive(ctx, "q", 10, time.Minute, t0.Add(time.Minute))
	// b waited since t0, a became visible again at t0+1m: oldest first.
	if err != nil || fmt.Sprint(deliveryIDs(got)) != "[b a]" {
		t.Fatalf("after reopen = %v, %v; want [b a]", deliveryIDs(got), err)
	}
	if got[1].ReceiveCount != 2 || got[0].ReceiveCount != 1 {
		t.Fatalf("receive counts after reopen = %d, %d; want 1, 2", got[0].ReceiveCount, got[1].ReceiveCount)
	}
}

// TestQueuePruneDeletesInChunks: PruneQueue forgets every acknowledged
// message done before the time given, more than one chunk of them, and
// none done later or still waiting.
func TestQueuePruneDeletesInChunks(t *testing.T) {
	ctx := context.Background()
	s := openQueue(t)
	t0 := time.Now()
	n := pruneQueueChunk*2 + 7
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%05d", i)
	}
	if err := s.Enqueue(ctx, "q", msgs(t0, append(ids, "waiting")...)); err != nil {
		t.Fatal(err)
	}
	for i, err := range s.AckAll(ctx, "q", ids) {
		if err != nil {
			t.Fatalf("ack %s: %v", ids[i], err)
		}
	}
	if got, err := s.PruneQueue(ctx, t0.Add(-time.Hour)); err != nil || got != 0 {
		t.Fatalf("PruneQueue before they were done = %d, %v; want 0", got, err)
	}
	if got, err := s.PruneQueue(ctx, time.Now().Add(time.Second)); err != nil || got != int64(n) {
		t.Fatalf("PruneQueue = %d, %v; want %d", got, err, n)
	}
	got, err := s.Receive(ctx, "q", 10, time.Minute, t0.Add(time.Minute))
	if err != nil || fmt.Sprint(deliveryIDs(got)) != "[waiting]" {
		t.Fatalf("after pruning = %v, %v; want [waiting]", deliveryIDs(got), err)
	}
}
