package web

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// People type amounts in major units ("25.50") and rates in percent
// ("12.5"); the domain keeps minor units and basis points. These convert
// exactly, without floats.

// ParseDecimal reads a non-negative decimal with at most places decimals
// as an integer scaled by 10^places: ParseDecimal("12.5", 2) = 1250.
func ParseDecimal(s string, places int) (int64, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", ""))
	whole, frac, hasDot := strings.Cut(s, ".")
	if s == "" || (whole == "" && frac == "") || len(frac) > places || (hasDot && frac == "" && places == 0) {
		return 0, fmt.Errorf("bad decimal")
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("bad decimal")
			}
		}
	}
	frac += strings.Repeat("0", places-len(frac))
	if len(whole)+len(frac) > 17 {
		return 0, fmt.Errorf("too large")
	}
	return strconv.ParseInt(whole+frac, 10, 64)
}

func formatPercent(bps *int64) string {
	if bps == nil {
		return ""
	}
	s := domain.FormatMajor(*bps, "USD")
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

func formatMoney(minor *int64, currency string) string {
	if minor == nil {
		return ""
	}
	return domain.FormatMajor(*minor, currency)
}

// parser reads typed fields of a form, collecting every problem.
type parser struct {
	f *Form
	v domain.Validation
}

func (p *parser) str(name string) string { return strings.TrimSpace(p.f.Get(name)) }

func (p *parser) money(name, currency string) *int64 {
	s := p.str(name)
	if s == "" {
		return nil
	}
	n, err := ParseDecimal(s, domain.CurrencyDecimals(currency))
	if err != nil {
		p.v.Add(name, "must be an amount such as %s", domain.FormatMajor(2500, currency))
		return nil
	}
	return &n
}

func (p *parser) percent(name string) *int64 {
	s := strings.TrimSuffix(p.str(name), "%")
	if s == "" {
		return nil
	}
	n, err := ParseDecimal(s, 2)
	if err != nil {
		p.v.Add(name, "must be a percentage such as 12.5")
		return nil
	}
	return &n
}

func (p *parser) integer(name string) *int64 {
	s := p.str(name)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.v.Add(name, "must be a whole number")
		return nil
	}
	return &n
}

func (p *parser) intOr(name string, def int) int {
	if n := p.integer(name); n != nil {
		return int(*n)
	}
	return def
}

func (p *parser) date(name string) *time.Time {
	s := p.str(name)
	if s == "" {
		return nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		p.v.Add(name, "must be a date (YYYY-MM-DD)")
		return nil
	}
	return &t
}

func (p *parser) checked(name string) bool { return p.f.Get(name) != "" }

// maxTierRows bounds the tier rows read from a form (the rule allows 20).
const maxTierRows = 20

// rule reads the commission rule editor under prefix ("commission"). For
// a rule that may be absent (a partner's own rule), type "" gives nil.
// Only the fields of the chosen type are read; blank tier rows are
// dropped and the form renumbered, so that the domain's field paths
// (commission.tiers[1].upTo) name the rows as shown.
func (p *parser) rule(prefix, currency string) *domain.CommissionRule {
	f := func(n string) string { return prefix + "." + n }
	r := domain.CommissionRule{Type: p.str(f("type"))}
	switch r.Type {
	case "":
		return nil
	case domain.RuleFlat:
		r.Amount = p.money(f("amount"), currency)
	case domain.RulePercentage:
		r.RateBps = p.percent(f("rateBps"))
	case domain.RuleTiered:
		r.Basis, r.Period, r.Mode = p.str(f("basis")), p.str(f("period")), p.str(f("mode"))
		var rows [][3]string
		for i := 0; i < maxTierRows+10; i++ {
			tp := fmt.Sprintf("%s[%d].", f("tiers"), i)
			row := [3]string{p.str(tp + "upTo"), p.str(tp + "rateBps"), p.str(tp + "amount")}
			if row != [3]string{} {
				rows = append(rows, row)
			}
			p.f.Values.Del(tp + "upTo")
			p.f.Values.Del(tp + "rateBps")
			p.f.Values.Del(tp + "amount")
		}
		for i, row := range rows {
			tp := fmt.Sprintf("%s[%d].", f("tiers"), i)
			p.f.Values.Set(tp+"upTo", row[0])
			p.f.Values.Set(tp+"rateBps", row[1])
			p.f.Values.Set(tp+"amount", row[2])
			var t domain.Tier
			if r.Basis == domain.BasisRevenue {
				t.UpTo = p.money(tp+"upTo", currency)
			} else {
				t.UpTo = p.integer(tp + "upTo")
			}
			t.RateBps = p.percent(tp + "rateBps")
			t.Amount = p.money(tp+"amount", currency)
			r.Tiers = append(r.Tiers, t)
		}
	}
	switch p.str(f("recurring")) {
	case "lifetime":
		r.Recurring = &domain.Recurring{}
	case "months":
		// A blank or bad number is 0 months: refused by the rule's own
		// validation on commission.recurring.months, never read as lifetime.
		months := 0
		if n := p.integer(f("recurring.months")); n != nil {
			months = int(min(max(*n, 0), domain.MaxRecurringMonths+1)) // out of range stays out of range
		}
		r.Recurring = &domain.Recurring{Months: &months}
	}
	return &r
}

// fillRule is rule's inverse: a stored rule as editor values.
func fillRule(v url.Values, prefix string, r *domain.CommissionRule, currency string) {
	if r == nil {
		v.Set(prefix+".type", "")
		return
	}
	v.Set(prefix+".type", r.Type)
	v.Set(prefix+".amount", formatMoney(r.Amount, currency))
	v.Set(prefix+".rateBps", formatPercent(r.RateBps))
	v.Set(prefix+".basis", r.Basis)
	v.Set(prefix+".period", r.Period)
	v.Set(prefix+".mode", r.Mode)
	switch {
	case r.Recurring == nil:
		v.Set(prefix+".recurring", "")
	case r.Recurring.Months == nil:
		v.Set(prefix+".recurring", "lifetime")
	default:
		v.Set(prefix+".recurring", "months")
		v.Set(prefix+".recurring.months", strconv.Itoa(*r.Recurring.Months))
	}
	for i, t := range r.Tiers {
		tp := fmt.Sprintf("%s.tiers[%d].", prefix, i)
		if r.Basis == domain.BasisRevenue {
			v.Set(tp+"upTo", formatMoney(t.UpTo, currency))
		} else if t.UpTo != nil {
			v.Set(tp+"upTo", strconv.FormatInt(*t.UpTo, 10))
		}
		v.Set(tp+"rateBps", formatPercent(t.RateBps))
		v.Set(tp+"amount", formatMoney(t.Amount, currency))
	}
}

// ruleEditor is what the "rule-editor" partial renders.
type ruleEditor struct {
	Form     *Form
	Prefix   string
	Optional bool // "no rule of its own" is a choice (partners)
	Currency string
	Rows     []int
}

func newRuleEditor(f *Form, prefix string, optional bool, currency string) ruleEditor {
	n := 0
	for i := 0; i < maxTierRows; i++ {
		tp := fmt.Sprintf("%s.tiers[%d].", prefix, i)
		if f.Get(tp+"upTo")+f.Get(tp+"rateBps")+f.Get(tp+"amount") != "" {
			n = i + 1
		}
	}
	rows := n + 1 // one blank row to add a tier without JavaScript
	if rows < 3 {
		rows = 3
	}
	if rows > maxTierRows {
		rows = maxTierRows
	}
	return ruleEditor{Form: f, Prefix: prefix, Optional: optional, Currency: currency, Rows: seqInts(rows)}
}

func seqInts(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// programSpec reads the program form.
func programSpec(f *Form) (domain.ProgramSpec, error) {
	p := &parser{f: f}
	cur := strings.ToUpper(p.str("currency"))
	f.Values.Set("currency", cur)
	spec := domain.ProgramSpec{
		Name: p.str("name"), LandingURL: p.str("landingUrl"), Currency: cur,
		AttributionWindowDays: p.intOr("attributionWindowDays", 0),
		QualifyingEvents:      f.Values["qualifyingEvents"],
		HoldDays:              p.intOr("holdDays", 0),
		Eligibility: domain.Eligibility{
			NewCustomersOnly:  p.checked("eligibility.newCustomersOnly"),
			AllowSelfReferral: p.checked("eligibility.allowSelfReferral"),
			MinPurchaseAmount: p.money("eligibility.minPurchaseAmount", cur),
		},
	}
	if t := p.date("startsAt"); t != nil {
		spec.StartsAt = *t
	}
	spec.EndsAt = p.date("endsAt")
	if r := p.rule("commission", cur); r != nil {
		spec.Commission = *r
	}
	if err := p.v.Merge(spec.Validate()); err != nil {
		return spec, err
	}
	return spec, p.v.Err()
}

// programValues pre-fills the program form.
func programValues(pr domain.Program) url.Values {
	v := url.Values{}
	v.Set("name", pr.Name)
	v.Set("landingUrl", pr.LandingURL)
	v.Set("currency", pr.Currency)
	v.Set("startsAt", pr.StartsAt.UTC().Format("2006-01-02"))
	if pr.EndsAt != nil {
		v.Set("endsAt", pr.EndsAt.UTC().Format("2006-01-02"))
	}
	v.Set("attributionWindowDays", strconv.Itoa(pr.AttributionWindowDays))
	v["qualifyingEvents"] = append([]string(nil), pr.QualifyingEvents...)
	if pr.Eligibility.NewCustomersOnly {
		v.Set("eligibility.newCustomersOnly", "on")
	}
	if pr.Eligibility.AllowSelfReferral {
		v.Set("eligibility.allowSelfReferral", "on")
	}
	v.Set("eligibility.minPurchaseAmount", formatMoney(pr.Eligibility.MinPurchaseAmount, pr.Currency))
	v.Set("holdDays", strconv.Itoa(pr.HoldDays))
	fillRule(v, "commission", &pr.Commission, pr.Currency)
	return v
}

// tierSpec reads the partner tier form. Tier amounts are in currency (the
// rule applies to programs of any currency; amounts are minor units).
func tierSpec(f *Form, currency string) (domain.PartnerTierSpec, error) {
	p := &parser{f: f}
	spec := domain.PartnerTierSpec{Name: p.str("name")}
	if r := p.rule("commission", currency); r != nil {
		spec.Commission = *r
	}
	if h := p.integer("holdDays"); h != nil {
		d := int(*h)
		spec.HoldDays = &d
	}
	if err := p.v.Merge(spec.Validate()); err != nil {
		return spec, err
	}
	return spec, p.v.Err()
}

// maxAgreementRows bounds the agreement rows read from a form.
const maxAgreementRows = 100

// partnerSpec reads the partner form; blank agreement rows are dropped and
// the rest renumbered like tier rows.
func partnerSpec(f *Form, currency string) (domain.PartnerSpec, error) {
	p := &parser{f: f}
	spec := domain.PartnerSpec{
		CompanyName: p.str("companyName"), ContactName: p.str("contactName"),
		Email: p.str("email"), TierID: p.str("tierId"),
		Commission: p.rule("commission", currency),
	}
	var rows [][3]string
	for i := 0; i < maxAgreementRows; i++ {
		ap := fmt.Sprintf("agreements[%d].", i)
		row := [3]string{p.str(ap + "name"), p.str(ap + "signedAt"), p.str(ap + "url")}
		if row != [3]string{} {
			rows = append(rows, row)
		}
		for _, k := range []string{"name", "signedAt", "url"} {
			f.Values.Del(ap + k)
		}
	}
	for i, row := range rows {
		ap := fmt.Sprintf("agreements[%d].", i)
		f.Values.Set(ap+"name", row[0])
		f.Values.Set(ap+"signedAt", row[1])
		f.Values.Set(ap+"url", row[2])
		a := domain.Agreement{Name: row[0], URL: row[2]}
		if t := p.date(ap + "signedAt"); t != nil {
			a.SignedAt = *t
		}
		spec.Agreements = append(spec.Agreements, a)
	}
	if err := p.v.Merge(spec.Validate()); err != nil {
		return spec, err
	}
	return spec, p.v.Err()
}

func partnerValues(pt domain.Partner, currency string) url.Values {
	v := url.Values{}
	v.Set("companyName", pt.CompanyName)
	v.Set("contactName", pt.ContactName)
	v.Set("email", pt.Email)
	v.Set("tierId", pt.TierID)
	fillRule(v, "commission", pt.Commission, currency)
	for i, a := range pt.Agreements {
		ap := fmt.Sprintf("agreements[%d].", i)
		v.Set(ap+"name", a.Name)
		v.Set(ap+"signedAt", a.SignedAt.UTC().Format("2006-01-02"))
		v.Set(ap+"url", a.URL)
	}
	return v
}

func agreementRows(f *Form) []int {
	n := 0
	for i := 0; i < maxAgreementRows; i++ {
		if f.Get(fmt.Sprintf("agreements[%d].name", i)) != "" {
			n = i + 1
		}
	}
	return seqInts(n + 1)
}
