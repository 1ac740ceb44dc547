package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

func TestReferralIneligibility(t *testing.T) {
	referrer := domain.Referrer{ID: "rfr_1", Email: "jane.doe@example.com"}
	tests := []struct {
		name     string
		elig     domain.Eligibility
		email    string
		existing bool
		want     string
	}{
		{"stranger", domain.Eligibility{}, "bob@example.com", false, ""},
		{"self", domain.Eligibility{}, "jane.doe@example.com", false, domain.ReasonSelfReferral},
		{"self, other case", domain.Eligibility{}, "Jane.Doe@EXAMPLE.com", false, domain.ReasonSelfReferral},
		{"self, +tag alias", domain.Eligibility{}, "jane.doe+friend@example.com", false, domain.ReasonSelfReferral},
		{"self allowed", domain.Eligibility{AllowSelfReferral: true}, "jane.doe+friend@example.com", false, ""},
		{"same local part, other domain", domain.Eligibility{}, "jane.doe@example.org", false, ""},
		{"existing customer, new customers only", domain.Eligibility{NewCustomersOnly: true}, "bob@example.com", true, domain.ReasonExistingCustomer},
		{"existing customer, anyone welcome", domain.Eligibility{}, "bob@example.com", true, ""},
		{"new customer, new customers only", domain.Eligibility{NewCustomersOnly: true}, "bob@example.com", false, ""},
		{"self and existing: self reported", domain.Eligibility{NewCustomersOnly: true}, "jane.doe@example.com", true, domain.ReasonSelfReferral},
		{"self allowed but existing", domain.Eligibility{NewCustomersOnly: true, AllowSelfReferral: true}, "jane.doe@example.com", true, domain.ReasonExistingCustomer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := domain.Program{Status: domain.ProgramActive, Eligibility: tt.elig}
			if got := p.ReferralIneligibility(referrer, tt.email, tt.existing); got != tt.want {
				t.Errorf("ReferralIneligibility(%q, existing=%v) = %q, want %q", tt.email, tt.existing, got, tt.want)
			}
		})
	}
	t.Run("gmail alias of a gmail referrer", func(t *testing.T) {
		p := domain.Program{Status: domain.ProgramActive}
		r := domain.Referrer{Email: "jane.doe@gmail.com"}
		if got := p.ReferralIneligibility(r, "janedoe+x@googlemail.com", false); got != domain.ReasonSelfReferral {
			t.Errorf("got %q, want self_referral", got)
		}
	})
}

func usd(n int64) *domain.Money { return &domain.Money{Amount: n, Currency: "USD"} }

func TestConversionProblem(t *testing.T) {
	created := time.Date(2026, 4, 10, 12, 0, 0, 0, time.UTC)
	windowEnd := created.AddDate(0, 0, 30)
	program := func() domain.Program {
		return domain.Program{
			Status: domain.ProgramActive, Currency: "USD", AttributionWindowDays: 30,
			QualifyingEvents: []string{"signup", "purchase"},
			Eligibility:      domain.Eligibility{MinPurchaseAmount: i64(5000)},
		}
	}
	pending := domain.Referral{Status: domain.ReferralPending, CreatedAt: created}

	tests := []struct {
		name       string
		edit       func(*domain.Program)
		ref        domain.Referral
		event      string
		amount     *domain.Money
		occurredAt time.Time
		now        time.Time
		want       string
	}{
		{"purchase inside window", nil, pending, "purchase", usd(9900), created.Add(time.Hour), created.Add(time.Hour), ""},
		{"signup inside window", nil, pending, "signup", nil, created.Add(time.Hour), created.Add(2 * time.Hour), ""},
		{"converted referral may convert again", nil, domain.Referral{Status: domain.ReferralConverted, CreatedAt: created},
			"purchase", usd(5000), created.Add(time.Hour), created.Add(time.Hour), ""},

		// Attribution window, counted from the referral.
		{"exactly at window end", nil, pending, "purchase", usd(5000), windowEnd, windowEnd, ""},
		{"one second after window end", nil, pending, "purchase", usd(5000), windowEnd.Add(time.Second), windowEnd.Add(time.Second), domain.ReasonWindowExpired},
		{"window end, reported later", nil, pending, "purchase", usd(5000), windowEnd, windowEnd.AddDate(0, 1, 0), ""},
		{"one-day window", func(p *domain.Program) { p.AttributionWindowDays = 1 }, pending, "signup", nil,
			created.Add(24*time.Hour + time.Second), created.Add(25 * time.Hour), domain.ReasonWindowExpired},

		// occurredAt against the clock.
		{"slightly in the future, within skew", nil, pending, "purchase", usd(5000), created.Add(time.Hour + time.Minute), created.Add(time.Hour), ""},
		{"exactly at the skew limit", nil, pending, "purchase", usd(5000), created.Add(time.Hour + domain.ClockSkew), created.Add(time.Hour), ""},
		{"beyond skew in the future", nil, pending, "purchase", usd(5000), created.Add(time.Hour + domain.ClockSkew + time.Second), created.Add(time.Hour), domain.ReasonInFuture},
		{"a day in the future", nil, pending, "signup", nil, created.Add(25 * time.Hour), created.Add(time.Hour), domain.ReasonInFuture},

		// occurredAt against the referral.
		{"slightly before the referral, within skew", nil, pending, "signup", nil, created.Add(-time.Minute), created, ""},
		{"before the referral, exactly at skew", nil, pending, "signup", nil, created.Add(-domain.ClockSkew), created, ""},
		{"before the referral beyond skew", nil, pending, "signup", nil, created.Add(-domain.ClockSkew - time.Second), created, domain.ReasonBeforeReferral},
		{"a day before the referral", nil, pending, "purchase", usd(5000), created.Add(-24 * time.Hour), created, domain.ReasonBeforeReferral},

		// Minimum purchase.
		{"purchase equal to minimum", nil, pending, "purchase", usd(5000), created, created, ""},
		{"purchase one minor unit below minimum", nil, pending, "purchase", usd(4999), created, created, domain.ReasonBelowMinimum},
		{"purchase of zero", nil, pending, "purchase", usd(0), created, created, domain.ReasonBelowMinimum},
		{"purchase without amount when minimum set", nil, pending, "purchase", nil, created, created, domain.ReasonBelowMinimum},
		{"purchase without amount, no minimum", func(p *domain.Program) { p.Eligibility.MinPurchaseAmount = nil }, pending, "purchase", nil, created, created, ""},
		{"small purchase, no minimum", func(p *domain.Program) { p.Eligibility.MinPurchaseAmount = nil }, pending, "purchase", usd(1), created, created, ""},
		{"signup ignores minimum", nil, pending, "signup", nil, created, created, ""},
		{"signup with small amount ignores minimum", nil, pending, "signup", usd(1), created, created, ""},

		// Currency.
		{"currency mismatch", nil, pending, "purchase", &domain.Money{Amount: 9900, Currency: "EUR"}, created, created, domain.ReasonCurrencyMismatch},
		{"currency mismatch on signup", nil, pending, "signup", &domain.Money{Amount: 100, Currency: "EUR"}, created, created, domain.ReasonCurrencyMismatch},

		// Event.
		{"event not counted", func(p *domain.Program) { p.QualifyingEvents = []string{"purchase"} }, pending, "signup", nil, created, created, domain.ReasonEventNotQualifying},
		{"unknown event", nil, pending, "refund", nil, created, created, domain.ReasonEventNotQualifying},
		{"event is case-sensitive", nil, pending, "Purchase", usd(9900), created, created, domain.ReasonEventNotQualifying},

		// Program status.
		{"paused program", func(p *domain.Program) { p.Status = domain.ProgramPaused }, pending, "purchase", usd(9900), created, created, "program_not_active"},
		{"archived program", func(p *domain.Program) { p.Status = domain.ProgramArchived }, pending, "purchase", usd(9900), created, created, "program_not_active"},
		{"draft program", func(p *domain.Program) { p.Status = domain.ProgramDraft }, pending, "purchase", usd(9900), created, created, "program_not_active"},

		// Referral.
		{"ineligible referral", nil, domain.Referral{Status: domain.ReferralIneligible, Reason: domain.ReasonSelfReferral, CreatedAt: created},
			"purchase", usd(9900), created, created, domain.ReasonReferralIneligible},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := program()
			if tt.edit != nil {
				tt.edit(&p)
			}
			code, msg := p.ConversionProblem(tt.ref, tt.event, tt.amount, tt.occurredAt, tt.now)
			if code != tt.want {
				t.Errorf("ConversionProblem = %q (%s), want %q", code, msg, tt.want)
			}
			if (code == "") != (msg == "") {
				t.Errorf("code %q with message %q: a problem needs both, no problem neither", code, msg)
			}
		})
	}
}

func TestConversionProblemMessageFormatsMinimum(t *testing.T) {
	p := domain.Program{Status: domain.ProgramActive, Currency: "USD", AttributionWindowDays: 30,
		QualifyingEvents: []string{"purchase"}, Eligibility: domain.Eligibility{MinPurchaseAmount: i64(5000)}}
	ref := domain.Referral{Status: domain.ReferralPending, CreatedAt: t0}
	code, msg := p.ConversionProblem(ref, "purchase", usd(100), t0, t0)
	if code != domain.ReasonBelowMinimum {
		t.Fatalf("code = %q", code)
	}
	if want := "50.00 USD"; !strings.Contains(msg, want) {
		t.Errorf("message %q does not state the minimum as %q", msg, want)
	}
}
