package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// InTx: every write under its context joins one transaction; a write that
// fails is undone alone and its caller sees the error; the batch commits
// once fn returns nil, and nothing of it is visible before (nor at all
// when fn fails).
func TestInTxWritesCommitTogetherAndFailAlone(t *testing.T) {
	ctx := context.Background()
	s := openQueue(t)
	errBoom := errors.New("boom")
	err := s.InTx(ctx, func(ctx context.Context) error {
		if err := s.Enqueue(ctx, "q", msgs(t0, "a", "b")); err != nil {
			return err
		}
		// A write that fails halfway: its first statement is undone.
		err := s.write(ctx, func(tx *wtx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO queue_messages (queue, id, body, available_at) VALUES ('q', 'x', x'', ?)`,
				formatTime(t0)); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			return fmt.Errorf("failing write = %v, want boom", err)
		}
		// Acknowledging an unknown message fails alone, as outside InTx.
		if errs := s.AckAll(ctx, "q", []string{"a", "nope"}); errs[0] != nil || !errors.Is(errs[1], store.ErrNotFound) {
			return fmt.Errorf("AckAll = %v", errs)
		}
		// Readers do not see the batch before it commits.
		if ds, err := s.Receive(context.Background(), "q", 10, time.Minute, t0); err != nil || len(ds) != 0 {
			return fmt.Errorf("seen before the commit: %v, %v", ds, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := s.Receive(ctx, "q", 10, time.Minute, t0)
	if err != nil || fmt.Sprint(deliveryIDs(ds)) != "[b]" {
		t.Fatalf("after the commit: %v, %v; want [b] (a acknowledged, x undone)", deliveryIDs(ds), err)
	}

	// fn's error rolls the whole batch back.
	err = s.InTx(ctx, func(ctx context.Context) error {
		if err := s.Enqueue(ctx, "q", msgs(t0, "c")); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	if ds, err := s.Receive(ctx, "q", 10, time.Minute, t0.Add(time.Hour)); err != nil || fmt.Sprint(deliveryIDs(ds)) != "[b]" {
		t.Fatalf("after the rollback: %v, %v; want only b", deliveryIDs(ds), err)
	}
}

// A grouped write (a click, a conversion) made under an InTx context joins
// the batch instead of waiting for the writer connection the batch holds.
func TestInTxTakesGroupedWrites(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "batch.db"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.InTx(ctx, func(ctx context.Context) error {
		return s.writeGrouped(ctx, func(ctx context.Context, tx *wtx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO queue_messages (queue, id, body, available_at) VALUES ('q', 'g', x'', ?)`,
				formatTime(t0))
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if ds, err := s.Receive(ctx, "q", 10, time.Minute, t0); err != nil || fmt.Sprint(deliveryIDs(ds)) != "[g]" {
		t.Fatalf("receive = %v, %v", deliveryIDs(ds), err)
	}
}

// A click recorded under an InTx context is decided and written in the
// batch (a savepoint of it) instead of waiting for the writer connection
// the batch holds — which would never come. A repeat in the same batch, or
// after it, is a repeat; a click of a batch that rolled back left nothing
// behind (the memory of the limits takes a batch's rows only from the
// file, once it has committed).
func TestInTxTakesClicks(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "batch.db"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.CreateReferrer(ctx, domain.Referrer{ID: "rfr_1", OrgID: "org_a", ProgramID: "prg_1", Email: "jane@x.io", Code: "jane"}); err != nil {
		t.Fatal(err)
	}
	click := func(ctx context.Context, id, visitor string) bool {
		t.Helper()
		counted, err := s.RecordClick(ctx, domain.Click{ID: id, OrgID: "org_a", ReferrerID: "rfr_1", Code: "jane", VisitorHash: visitor, At: t0},
			store.ClickLimits{Window: time.Hour})
		if err != nil {
			t.Fatalf("RecordClick(%s, %s) = %v", id, visitor, err)
		}
		return counted
	}
	err := s.InTx(ctx, func(ctx context.Context) error {
		if !click(ctx, "clk_1", "v1") {
			t.Error("the first click in InTx was not counted")
		}
		if click(ctx, "clk_2", "v1") {
			t.Error("a repeat in the same InTx was counted") // its row is not committed yet
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.GetReferrerByCode(ctx, "jane"); err != nil || r.Clicks != 1 {
		t.Fatalf("after the batch: %+v, %v; want 1 click", r, err)
	}
	if click(ctx, "clk_3", "v1") {
		t.Error("a repeat after the InTx committed was counted")
	}
	// A batch that rolls back leaves no trace in the limits either.
	boom := errors.New("boom")
	if err := s.InTx(ctx, func(ctx context.Context) error {
		if !click(ctx, "clk_4", "v2") {
			t.Error("v2's click in the failing InTx was not counted")
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	if !click(ctx, "clk_5", "v2") {
		t.Error("v2, whose only click was rolled back, was not counted")
	}
}
