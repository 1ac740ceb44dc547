package domain_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

func months(n int) *domain.Recurring { return &domain.Recurring{Months: &n} }

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestAddMonthsClampsToTheEndOfTheMonth(t *testing.T) {
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-01-15T10:00:00Z", 1, "2026-02-15T10:00:00Z"},
		{"2026-01-31T10:00:00Z", 1, "2026-02-28T10:00:00Z"},
		{"2028-01-31T10:00:00Z", 1, "2028-02-29T10:00:00Z"}, // leap year
		{"2028-02-29T23:59:59Z", 12, "2029-02-28T23:59:59Z"},
		{"2026-03-31T00:00:00Z", 1, "2026-04-30T00:00:00Z"},
		{"2026-11-30T08:00:00Z", 3, "2027-02-28T08:00:00Z"},
		{"2026-03-29T01:30:00Z", 1, "2026-04-29T01:30:00Z"}, // the night Europe moves its clocks: UTC only
		{"2026-12-31T23:59:59Z", 120, "2036-12-31T23:59:59Z"},
		// a time in another zone is the same instant in UTC
		{"2026-01-31T23:30:00-05:00", 1, "2026-03-01T04:30:00Z"},
	}
	for _, tt := range tests {
		if got := domain.AddMonths(utc(tt.from), tt.n); !got.Equal(utc(tt.want)) {
			t.Errorf("AddMonths(%s, %d) = %s, want %s", tt.from, tt.n, got.Format(time.RFC3339), tt.want)
		}
	}
}

func TestRenewalEarnsInsideTheWindowOnly(t *testing.T) {
	first := utc("2026-01-31T12:00:00Z")
	end12 := utc("2027-01-31T12:00:00Z")
	end1 := utc("2026-02-28T12:00:00Z")
	flat := func(r *domain.Recurring) domain.CommissionRule {
		return domain.CommissionRule{Type: "flat", Amount: i64(500), Recurring: r}
	}
	tests := []struct {
		name string
		rule domain.CommissionRule
		at   time.Time
		want bool
	}{
		{"no recurring: a renewal earns nothing", flat(nil), first.Add(24 * time.Hour), false},
		{"12 months: a second after the first payment", flat(months(12)), first.Add(time.Second), true},
		{"12 months: at the first payment itself", flat(months(12)), first, true},
		{"12 months: a second before the window ends", flat(months(12)), end12.Add(-time.Second), true},
		{"12 months: exactly at the end", flat(months(12)), end12, false},
		{"12 months: a second after the end", flat(months(12)), end12.Add(time.Second), false},
		{"1 month from 31 January ends on 28 February: a second before", flat(months(1)), end1.Add(-time.Second), true},
		{"1 month from 31 January ends on 28 February: at the end", flat(months(1)), end1, false},
		{"before the first payment", flat(months(12)), first.Add(-time.Second), false},
		{"lifetime: 30 years later", flat(&domain.Recurring{}), first.AddDate(30, 0, 0), true},
		{"lifetime: before the first payment", flat(&domain.Recurring{}), first.Add(-time.Second), false},
		{"renewal reported in another zone, same instant as the end", flat(months(12)), end12.In(time.FixedZone("EST", -5*3600)), false},
	}
	for _, tt := range tests {
		if got := tt.rule.RenewalEarns(first, tt.at); got != tt.want {
			t.Errorf("%s: RenewalEarns(%s) = %v, want %v", tt.name, tt.at.Format(time.RFC3339), got, tt.want)
		}
	}
}

func TestRecurringJSON(t *testing.T) {
	tests := []struct {
		body       string
		wantMonths *int
		wantFields []string // validation errors of the decoded rule
	}{
		{`{"type":"flat","amount":100,"recurring":{"months":12}}`, intp(12), nil},
		{`{"type":"flat","amount":100,"recurring":{"months":null}}`, nil, nil},
		{`{"type":"flat","amount":100,"recurring":{"months":120}}`, intp(120), nil},
		{`{"type":"flat","amount":100,"recurring":{"months":1}}`, intp(1), nil},
		{`{"type":"flat","amount":100,"recurring":{"months":0}}`, intp(0), []string{"commission.recurring.months"}},
		{`{"type":"flat","amount":100,"recurring":{"months":-3}}`, intp(-3), []string{"commission.recurring.months"}},
		{`{"type":"flat","amount":100,"recurring":{"months":121}}`, intp(121), []string{"commission.recurring.months"}},
		{`{"type":"flat","amount":100,"recurring":{"months":1.5}}`, nil, []string{"commission.recurring.months"}},
		{`{"type":"flat","amount":100,"recurring":{"months":"12"}}`, nil, []string{"commission.recurring.months"}},
		{`{"type":"flat","amount":100,"recurring":{}}`, nil, []string{"commission.recurring.months"}},
		{`{"type":"percentage","rateBps":100,"recurring":{"months":6}}`, intp(6), nil},
	}
	for _, tt := range tests {
		var r domain.CommissionRule
		if err := json.Unmarshal([]byte(tt.body), &r); err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if r.Recurring == nil {
			t.Fatalf("%s: recurring not decoded", tt.body)
		}
		if tt.wantFields == nil && !reflect.DeepEqual(r.Recurring.Months, tt.wantMonths) {
			t.Errorf("%s: months = %v, want %v", tt.body, r.Recurring.Months, tt.wantMonths)
		}
		if got := ruleFields(t, r); !reflect.DeepEqual(got, tt.wantFields) {
			t.Errorf("%s: invalid fields = %v, want %v", tt.body, got, tt.wantFields)
		}
	}
	var r domain.CommissionRule
	if err := json.Unmarshal([]byte(`{"type":"flat","amount":1,"recurring":{"months":1,"x":2}}`), &r); err == nil {
		t.Error("an unknown field of recurring was accepted")
	}
	// Stored and read back, a lifetime rule stays a lifetime rule.
	b, _ := json.Marshal(domain.CommissionRule{Type: "flat", Amount: i64(1), Recurring: &domain.Recurring{}})
	var back domain.CommissionRule
	if err := json.Unmarshal(b, &back); err != nil || back.Recurring == nil || !back.Recurring.Lifetime() || ruleFields(t, back) != nil {
		t.Errorf("lifetime rule %s read back as %+v (%v)", b, back.Recurring, err)
	}
}

func intp(n int) *int { return &n }

func TestEditingRecurringMakesANewRuleVersion(t *testing.T) {
	now := utc("2026-01-01T00:00:00Z")
	spec := domain.ProgramSpec{Name: "P", LandingURL: "https://x.example", Currency: "USD", StartsAt: now,
		AttributionWindowDays: 30, QualifyingEvents: []string{"purchase"},
		Commission: domain.CommissionRule{Type: "flat", Amount: i64(100)}}
	p := domain.NewProgram("org", "prg", spec, now)
	spec.Commission.Recurring = months(12)
	p, _ = p.Update(spec, now.Add(time.Hour))
	spec.Commission.Recurring = months(6)
	p, _ = p.Update(spec, now.Add(2*time.Hour))
	spec.Commission.Recurring = months(6)
	p, _ = p.Update(spec, now.Add(3*time.Hour)) // unchanged: no version
	if len(p.RuleVersions) != 3 {
		t.Fatalf("versions = %d, want 3", len(p.RuleVersions))
	}
	if r := p.RuleAt(now.Add(90 * time.Minute)); r.Recurring == nil || *r.Recurring.Months != 12 {
		t.Errorf("rule in force after the first edit = %+v", r.Recurring)
	}
	if r := p.RuleAt(now); r.Recurring != nil {
		t.Errorf("rule in force before any edit = %+v, want no recurring", r.Recurring)
	}
}

func TestRenewalProblem(t *testing.T) {
	now := utc("2026-06-01T00:00:00Z")
	first := utc("2026-01-10T00:00:00Z")
	prog := domain.Program{Status: domain.ProgramActive, Currency: "USD", AttributionWindowDays: 1}
	ref := domain.Referral{Status: domain.ReferralConverted, CreatedAt: utc("2026-01-01T00:00:00Z")}
	usd := &domain.Money{Amount: 1000, Currency: "USD"}
	tests := []struct {
		name      string
		prog      domain.Program
		ref       domain.Referral
		firstPaid *time.Time
		amount    *domain.Money
		at        time.Time
		want      string
	}{
		{"months after the attribution window: recorded", prog, ref, &first, usd, now, ""},
		{"no first payment", prog, ref, nil, usd, now, domain.ReasonNoFirstPayment},
		{"before the first payment", prog, ref, &first, usd, first.Add(-time.Second), domain.ReasonNoFirstPayment},
		{"no amount", prog, ref, &first, nil, now, "amount_required"},
		{"other currency", prog, ref, &first, &domain.Money{Amount: 1, Currency: "EUR"}, now, domain.ReasonCurrencyMismatch},
		{"paused program", domain.Program{Status: domain.ProgramPaused, Currency: "USD"}, ref, &first, usd, now, "program_not_active"},
		{"ineligible referral", prog, domain.Referral{Status: domain.ReferralIneligible}, &first, usd, now, domain.ReasonReferralIneligible},
		{"in the future", prog, ref, &first, usd, now.Add(time.Hour), domain.ReasonInFuture},
	}
	for _, tt := range tests {
		if code, _ := tt.prog.RenewalProblem(tt.ref, tt.firstPaid, tt.amount, tt.at, now); code != tt.want {
			t.Errorf("%s: code %q, want %q", tt.name, code, tt.want)
		}
	}
}

func TestFirstPaidAt(t *testing.T) {
	usd := func(n int64) *domain.Money { return &domain.Money{Amount: n, Currency: "USD"} }
	a, b, c := utc("2026-01-01T00:00:00Z"), utc("2026-02-01T00:00:00Z"), utc("2026-03-01T00:00:00Z")
	convs := []domain.Conversion{
		{Event: "signup", OccurredAt: a},                     // no value: not paid
		{Event: "renewal", Amount: usd(100), OccurredAt: a},  // a renewal never opens the window
		{Event: "purchase", Amount: usd(0), OccurredAt: a},   // zero: not paid
		{Event: "purchase", Amount: usd(900), OccurredAt: c}, // later
		{Event: "purchase", Amount: usd(500), OccurredAt: b}, // first paid
	}
	if got, ok := domain.FirstPaidAt(convs); !ok || !got.Equal(b) {
		t.Errorf("FirstPaidAt = %s %v, want %s", got, ok, b)
	}
	if _, ok := domain.FirstPaidAt(convs[:3]); ok {
		t.Error("FirstPaidAt found a paid conversion among unpaid ones")
	}
}
