package web

import (
	"testing"
	"time"
)

// TestStatementMonthsStartWhenThePartnerJoined: the portal offers this
// month and up to eleven before it, none before the partner joined.
func TestStatementMonthsStartWhenThePartnerJoined(t *testing.T) {
	now := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	ms := statementMonths(now, time.Date(2026, 9, 30, 23, 0, 0, 0, time.UTC))
	if len(ms) != 4 || ms[0].Period != "2026-12" || ms[3].Period != "2026-09" || ms[3].Label != "September 2026" {
		t.Errorf("joined in September: %+v", ms)
	}
	if ms := statementMonths(now, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)); len(ms) != 12 || ms[11].Period != "2026-01" {
		t.Errorf("joined long ago: %+v", ms)
	}
}
