package web

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/money"
)

// kpi is one headline figure of a dashboard: a count, a rate, or a money
// figure with one value per currency, each with its change against the
// previous period of the same length.
type kpi struct {
	Label  string
	Hint   string // a line under the value ("42 of 310 referrals")
	Link   string // where the card leads ("" for none)
	Values []kpiValue
}

type kpiValue struct {
	Currency string // "" for counts and rates
	Value    string
	Change   change
}

// change is a figure's change against the previous period, for people:
// "+12%", "−3.5%", "+2.1 pts" for a rate, "new" when the previous period
// had none, "—" when neither had any. Dir is "" when there was no
// comparison.
type change struct {
	Text  string
	Dir   string // up, down, flat, new, none
	Arrow string // ▲ ▼ (hidden from screen readers, which get Said)
	Said  string
	Prev  string // the previous period's figure
}

// percentText is a percentage's magnitude: one decimal under 10, whole
// above ("3.4", "12", "1,250").
func percentText(p float64) string {
	p = math.Abs(p)
	if math.Round(p*10)/10 < 10 {
		return strings.TrimSuffix(strconv.FormatFloat(p, 'f', 1, 64), ".0")
	}
	return groupDigits(strconv.FormatFloat(math.Round(p), 'f', 0, 64))
}

// changeOf compares cur with prev (prevText is prev for people).
func changeOf(cur, prev int64, prevText string) change {
	switch {
	case prev == 0 && cur == 0:
		return change{Text: "—", Dir: "none", Said: "none in this or the previous period", Prev: prevText}
	case prev == 0:
		return change{Text: "new", Dir: "new", Said: "new: none in the previous period", Prev: prevText}
	}
	p := (float64(cur) - float64(prev)) / math.Abs(float64(prev)) * 100
	return signed(p, percentText(p), "%", prevText)
}

// signed words a change of p (percent or points), whose magnitude reads
// mag in unit ("%", " pts").
func signed(p float64, mag, unit, prevText string) change {
	text := mag + unit
	switch {
	case mag == "0":
		return change{Text: "±0" + unit, Dir: "flat", Said: "about the same as the previous period", Prev: prevText}
	case p > 0:
		return change{Text: "+" + text, Dir: "up", Arrow: "▲", Said: "up " + text + " on the previous period", Prev: prevText}
	}
	return change{Text: "−" + text, Dir: "down", Arrow: "▼", Said: "down " + text + " on the previous period", Prev: prevText}
}

func countKPI(label string, cur int64, prev *int64) kpi {
	v := kpiValue{Value: formatInt(cur)}
	if prev != nil {
		v.Change = changeOf(cur, *prev, formatInt(*prev))
	}
	return kpi{Label: label, Values: []kpiValue{v}}
}

// moneyKPI has one value per currency of either period, written in the
// organization's locale (fm); with none at all it shows 0.
func moneyKPI(fm *money.Formatter, label string, cur []domain.Money, prev []domain.Money, compare bool) kpi {
	var curs []string
	for _, l := range [][]domain.Money{cur, prev} {
		for _, m := range l {
			if !slices.Contains(curs, m.Currency) {
				curs = append(curs, m.Currency)
			}
		}
	}
	slices.Sort(curs)
	k := kpi{Label: label}
	if len(curs) == 0 {
		v := kpiValue{Value: "0"}
		if compare {
			v.Change = changeOf(0, 0, "0")
		}
		k.Values = []kpiValue{v}
		return k
	}
	for _, c := range curs {
		a, b := domain.Money{Amount: amountOf(cur, c), Currency: c}, domain.Money{Amount: amountOf(prev, c), Currency: c}
		v := kpiValue{Value: fm.Format(a)}
		if compare {
			v.Change = changeOf(a.Amount, b.Amount, fm.Format(b))
		}
		k.Values = append(k.Values, v)
	}
	return k
}

// rateText is a 0–1 rate as a percentage: "12.5%".
func rateText(r float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(r*100, 'f', 1, 64), ".0") + "%"
}

// rateKPI is the conversion rate; its change is in percentage points (a
// rate going from 10% to 12% is "+2 pts", not "+20%").
func rateKPI(cur analytics.Summary, prev *analytics.Summary) kpi {
	v := kpiValue{Value: rateText(cur.ConversionRate)}
	if prev != nil {
		pt := rateText(prev.ConversionRate)
		switch {
		case prev.TotalReferrals == 0 && cur.TotalReferrals == 0:
			v.Change = change{Text: "—", Dir: "none", Said: "no referrals in this or the previous period", Prev: pt}
		case prev.TotalReferrals == 0:
			v.Change = change{Text: "new", Dir: "new", Said: "new: no referrals in the previous period", Prev: pt}
		default:
			d := (cur.ConversionRate - prev.ConversionRate) * 100
			v.Change = signed(d, strings.TrimSuffix(strconv.FormatFloat(math.Abs(d), 'f', 1, 64), ".0"), " pts", pt)
		}
	}
	return kpi{Label: "Conversion rate", Hint: formatInt(cur.ConvertedReferrals) + " of " + formatInt(cur.TotalReferrals) + " referrals converted",
		Values: []kpiValue{v}}
}

// prevCount is a previous period's count, nil without a comparison.
func prevCount(s *analytics.Summary, pick func(analytics.Summary) int64) *int64 {
	if s == nil {
		return nil
	}
	v := pick(*s)
	return &v
}

func prevMoney(s *analytics.Summary, pick func(analytics.Summary) []domain.Money) []domain.Money {
	if s == nil {
		return nil
	}
	return pick(*s)
}

// summaryKPIs are the referral dashboard's cards.
func summaryKPIs(fm *money.Formatter, s analytics.Summary) []kpi {
	p := s.Previous
	count := func(label string, pick func(analytics.Summary) int64) kpi {
		return countKPI(label, pick(s), prevCount(p, pick))
	}
	money := func(label string, pick func(analytics.Summary) []domain.Money) kpi {
		return moneyKPI(fm, label, pick(s), prevMoney(p, pick), p != nil)
	}
	epc := money("Earnings per click", func(s analytics.Summary) []domain.Money { return s.EPC })
	epc.Hint = "revenue ÷ clicks"
	return []kpi{
		count("Referrals", func(s analytics.Summary) int64 { return s.TotalReferrals }),
		rateKPI(s, p),
		count("Conversions", func(s analytics.Summary) int64 { return s.Conversions }),
		money("Revenue", func(s analytics.Summary) []domain.Money { return s.Revenue }),
		money("Commission pending", func(s analytics.Summary) []domain.Money { return s.CommissionAccrued.Pending }),
		money("Commission approved", func(s analytics.Summary) []domain.Money { return s.CommissionAccrued.Approved }),
		money("Commission paid", func(s analytics.Summary) []domain.Money { return s.CommissionAccrued.Paid }),
		count("Clicks", func(s analytics.Summary) int64 { return s.Clicks }),
		epc,
	}
}

// contributionKPIs are the partner dashboard's cards.
func contributionKPIs(fm *money.Formatter, s analytics.Summary) []kpi {
	p := s.Previous
	count := func(label string, pick func(analytics.Contribution) int64) kpi {
		f := func(s analytics.Summary) int64 { return pick(s.PartnerContribution) }
		return countKPI(label, f(s), prevCount(p, f))
	}
	money := func(label string, pick func(analytics.Contribution) []domain.Money) kpi {
		f := func(s analytics.Summary) []domain.Money { return pick(s.PartnerContribution) }
		return moneyKPI(fm, label, f(s), prevMoney(p, f), p != nil)
	}
	return []kpi{
		count("Deals registered", func(c analytics.Contribution) int64 { return c.DealsRegistered }),
		count("Deals won", func(c analytics.Contribution) int64 { return c.DealCount }),
		money("Deal value won", func(c analytics.Contribution) []domain.Money { return c.DealValue }),
		count("Partner conversions", func(c analytics.Contribution) int64 { return c.Conversions }),
		money("Partner revenue", func(c analytics.Contribution) []domain.Money { return c.Revenue }),
	}
}
