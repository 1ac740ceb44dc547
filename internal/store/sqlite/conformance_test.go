package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/sqlite"
	"github.com/partnerloop/partnerloop/internal/store/storetest"
)

// openTemp opens a new, empty store in the test's temporary directory and
// closes it when the test ends.
func openTemp(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestOutboxConformance(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T) interface {
		store.Store
		store.Outbox
	} {
		return openTemp(t)
	})
}

func TestLedgerConformance(t *testing.T) {
	storetest.RunLedger(t, func(t *testing.T) storetest.LedgerStore { return openTemp(t) })
}

func TestLedgerOutboxConformance(t *testing.T) {
	storetest.RunLedgerOutbox(t, func(t *testing.T) storetest.LedgerOutboxStore { return openTemp(t) })
}

func TestPortalConformance(t *testing.T) {
	storetest.RunPortal(t, func(t *testing.T) storetest.PortalStore { return openTemp(t) })
}

func TestDealsConformance(t *testing.T) {
	storetest.RunDeals(t, func(t *testing.T) storetest.DealStore { return openTemp(t) })
	storetest.RunDealsOutbox(t, func(t *testing.T) interface {
		storetest.DealStore
		store.Outbox
	} {
		return openTemp(t)
	})
}

func TestInvitationsConformance(t *testing.T) {
	storetest.RunInvitations(t, func(t *testing.T) storetest.InvitationStore { return openTemp(t) })
}

func TestAnalyticsConformance(t *testing.T) {
	storetest.RunAnalytics(t, func(t *testing.T) storetest.AnalyticsStore { return openTemp(t) }, storetest.AnalyticsOptions{
		Events: 3000,
		Lose: func(t *testing.T, s storetest.AnalyticsStore) bool {
			return sqlite.LoseLatestChange(s.(*sqlite.Store)) == nil
		},
	})
}

func TestStripeConformance(t *testing.T) {
	storetest.RunStripe(t, func(t *testing.T) storetest.StripeStore { return openTemp(t) })
}

func TestPayoutsConformance(t *testing.T) {
	storetest.RunPayouts(t, func(t *testing.T) storetest.PayoutStore { return openTemp(t) })
}

func TestWebhooksConformance(t *testing.T) {
	storetest.RunWebhooks(t, func(t *testing.T) storetest.WebhookStore { return openTemp(t) })
}

// TestLogosConformance runs the conformance suite of organizations' logos.
func TestLogosConformance(t *testing.T) {
	storetest.RunLogos(t, func(t *testing.T) storetest.LogoStore { return openTemp(t) })
}
