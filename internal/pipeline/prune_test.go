package pipeline

import (
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/store"
)

// TestEmbeddedPrunesDoneMessages: the embedded pipeline has the queue
// forget the messages done more than KeepDone ago, once every PruneEvery,
// so queue_messages does not keep a row per message for ever. Until then
// a done message's ID is remembered (enqueueing it again is a no-op).
func TestEmbeddedPrunesDoneMessages(t *testing.T) {
	f := newFixture(t, pct(1000))
	for range 3 {
		f.record(i64(1000))
	}
	f.drain()
	f.mu.Lock()
	events := append([]Message(nil), f.events...)
	f.mu.Unlock()
	if len(events) == 0 {
		t.Fatal("no notification was queued and handled")
	}
	again := func() int {
		t.Helper()
		var ms []store.QueuedMessage
		for _, m := range events {
			ms = append(ms, store.QueuedMessage{ID: m.ID, Body: []byte(`{}`), AvailableAt: time.Now()})
		}
		if err := f.st.Enqueue(f.ctx, QueueEvents, ms); err != nil {
			t.Fatal(err)
		}
		ds, err := f.st.Receive(f.ctx, QueueEvents, 100, time.Minute, time.Now().Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}

	now := time.Now().Add(DefaultKeepDone)
	f.emb.Commissions.Now = func() time.Time { return now }
	f.emb.prune(f.ctx) // the first call only starts the period
	now = now.Add(DefaultPruneEvery - time.Second)
	f.emb.prune(f.ctx)
	if n := again(); n != 0 {
		t.Fatalf("before PruneEvery passed, %d done messages were forgotten", n)
	}
	now = now.Add(2 * time.Second)
	f.emb.prune(f.ctx)
	if n := again(); n != len(events) {
		t.Fatalf("after pruning, %d of %d done messages were forgotten", n, len(events))
	}
}
