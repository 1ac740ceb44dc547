package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

const journalChildEnv = "PARTNERLOOP_JOURNAL_CHILD"

// TestJournaledClicksSurviveAKill: a process acknowledges clicks (half of
// them before and half while its writer is held by a transaction that never
// ends, so those are only in its journal) and is killed with SIGKILL. The
// next Open replays the journal: every acknowledged click is counted
// exactly once, a torn last record is ignored, and replaying the same
// journal again changes nothing.
func TestJournaledClicksSurviveAKill(t *testing.T) {
	if dbPath := os.Getenv(journalChildEnv); dbPath != "" {
		journalChild(t, dbPath)
		return
	}
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "db")
	s := openT(t, path)
	if err := s.CreateReferrer(ctx, domain.Referrer{ID: "rfr_1", OrgID: "org_a", ProgramID: "prg_1", Email: "a@x.io", Code: "jane"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run", "^TestJournaledClicksSurviveAKill$")
	cmd.Env = append(os.Environ(), journalChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "acked "); ok {
			acked[id] = true
		}
		if line == "held" {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) != journalChildClicks {
		t.Fatalf("the child acknowledged %d clicks, want %d", len(acked), journalChildClicks)
	}

	jnls, _ := filepath.Glob(path + "-clicks-*.jnl")
	if len(jnls) != 1 {
		t.Fatalf("journals left by the killed process: %v, want one", jnls)
	}
	saved, err := os.ReadFile(jnls[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(saved) == 0 {
		t.Fatal("the killed process's journal is empty: the test did not hold its applier")
	}
	// A torn last record: a frame whose payload was cut short.
	torn := append(append([]byte{}, saved...), 200, 0, 0, 0, 1, 2, 3, 4, '{', '"')
	if err := os.WriteFile(jnls[0], torn, 0o644); err != nil {
		t.Fatal(err)
	}

	check := func(what string) {
		t.Helper()
		s := openT(t, path)
		defer s.Close()
		if left, _ := filepath.Glob(path + "-clicks-*.jnl"); len(left) != 1 {
			t.Errorf("%s: journals after Open: %v, want only the new store's", what, left)
		}
		r, err := s.GetReferrerByCode(ctx, "jane")
		if err != nil || r.Clicks != journalChildClicks {
			t.Fatalf("%s: referrer %+v, %v; want %d clicks", what, r, err, journalChildClicks)
		}
		clicks, _, err := s.ListClicks(ctx, "org_a", "rfr_1", store.Page{Limit: store.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, c := range clicks {
			seen[c.ID]++
		}
		for id := range acked {
			if seen[id] != 1 {
				t.Errorf("%s: acknowledged click %s stored %d times, want once", what, id, seen[id])
			}
		}
		if len(clicks) != len(acked) {
			t.Errorf("%s: %d clicks stored, want %d", what, len(clicks), len(acked))
		}
	}
	check("after the kill")
	// The same journal replayed again (as if the replaying process had died
	// before removing it) counts nothing twice.
	if err := os.WriteFile(jnls[0], saved, 0o644); err != nil {
		t.Fatal(err)
	}
	check("after replaying the journal again")
}

const journalChildClicks = 60

// journalChild records journalChildClicks clicks, printing each one
// acknowledged; the second half while an InTx holds the writer (so the
// group committer cannot apply them), then prints "held" and waits to be
// killed.
func journalChild(t *testing.T, path string) {
	ctx := context.Background()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	record := func(from, to int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := from; i < to; i++ {
			wg.Go(func() {
				id := fmt.Sprintf("clk_%d", i)
				ok, err := s.RecordClick(ctx, domain.Click{ID: id, OrgID: "org_a", ReferrerID: "rfr_1", Code: "jane",
					VisitorHash: fmt.Sprintf("v%d", i), At: t0}, store.ClickLimits{Window: time.Hour})
				mu.Lock()
				defer mu.Unlock()
				if err != nil || !ok {
					fmt.Fprintf(os.Stderr, "click %d: %v %v\n", i, ok, err)
					return
				}
				fmt.Printf("acked %s\n", id)
			})
		}
		wg.Wait()
	}
	record(0, journalChildClicks/2)
	holding := make(chan struct{})
	go func() {
		_ = s.InTx(ctx, func(context.Context) error {
			close(holding)
			select {} // until killed
		})
	}()
	<-holding
	record(journalChildClicks/2, journalChildClicks)
	fmt.Println("held")
	select {}
}
