// Package money formats amounts for people, in an organization's locale:
// "$48,000.00" for en-US, "48.000,00 €" for de-DE. The locale data (CLDR)
// comes from github.com/bojanz/currency, so separators, symbol placement
// and digits follow each locale's conventions instead of our guesses.
package money

import (
	"strconv"
	"strings"
	"sync"

	"github.com/bojanz/currency"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Formatter formats money in one locale. The zero value is not usable;
// use For.
type Formatter struct {
	locale string
	f      *currency.Formatter
	codes  *currency.Formatter // with codes instead of symbols
	short  *currency.Formatter // no trailing zero decimals (Compact)
	count  *currency.Formatter // a plain number (Count)
	plain  *currency.Formatter // an amount without its currency (Plain)
	scales []scale             // the locale's compact units (Compact)
}

var cache sync.Map // locale → *Formatter

// For returns the formatter of a locale tag such as "de-DE" ("" is
// domain.DefaultLocale).
func For(locale string) *Formatter {
	if locale == "" {
		locale = domain.DefaultLocale
	}
	if f, ok := cache.Load(locale); ok {
		return f.(*Formatter)
	}
	l := currency.NewLocale(locale)
	codes := currency.NewFormatter(l)
	codes.CurrencyDisplay = currency.DisplayCode
	short := currency.NewFormatter(l)
	short.MinDigits, short.MaxDigits = 0, 2
	count := currency.NewFormatter(l)
	count.CurrencyDisplay, count.MinDigits, count.MaxDigits = currency.DisplayNone, 0, 0
	plain := currency.NewFormatter(l)
	plain.CurrencyDisplay = currency.DisplayNone
	lang, _, _ := strings.Cut(locale, "-")
	scales, ok := compactScales[lang]
	if !ok {
		scales = compactScales["en"]
	}
	f, _ := cache.LoadOrStore(locale, &Formatter{locale: locale, f: currency.NewFormatter(l), codes: codes,
		short: short, count: count, plain: plain, scales: scales})
	return f.(*Formatter)
}

// Locale is the formatter's locale tag.
func (f *Formatter) Locale() string { return f.locale }

// Format is m for people: "$1,234.50", "1.234,50 €". A currency the
// library does not know is shown as its code and the plain amount.
func (f *Formatter) Format(m domain.Money) string {
	a, err := currency.NewAmountFromInt64(m.Amount, m.Currency)
	if err != nil {
		return m.Currency + " " + domain.FormatMajor(m.Amount, m.Currency)
	}
	return f.f.Format(a)
}

// FormatCode is m with the currency's code instead of its symbol
// ("USD 1,234.50"), where symbols could be ambiguous (a statement that
// lists several dollar currencies).
func (f *Formatter) FormatCode(m domain.Money) string {
	a, err := currency.NewAmountFromInt64(m.Amount, m.Currency)
	if err != nil {
		return m.Currency + " " + domain.FormatMajor(m.Amount, m.Currency)
	}
	return f.codes.Format(a)
}

// Join formats a total in several currencies: "$10.00 + €5.00"; none is
// "0".
func (f *Formatter) Join(ms []domain.Money) string {
	if len(ms) == 0 {
		return "0"
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = f.Format(m)
	}
	return strings.Join(parts, " + ")
}

// Count is a count for people, grouped as the locale groups digits:
// "12,345", "12.345", "12 345".
func (f *Formatter) Count(n int64) string {
	a, err := currency.NewAmount(strconv.FormatInt(n, 10), "USD") // any currency: none is shown
	if err != nil {
		return strconv.FormatInt(n, 10)
	}
	return f.count.Format(a)
}

// Plain is an amount of minor units (cents) without a currency, grouped
// and with two decimals as the locale writes them: "25,000.00",
// "25.000,00". For amounts whose currency is not one (a tier's rule
// applies in each program's currency).
func (f *Formatter) Plain(minor int64) string {
	a, err := currency.NewAmountFromInt64(minor, "USD") // any two-decimal currency: none is shown
	if err != nil {
		return domain.FormatMajor(minor, "USD")
	}
	return f.plain.Format(a)
}

// scale is a compact unit of a locale: amounts of at least div are written
// in it, the suffix after the digits ("48K", "48 Tsd.").
type scale struct {
	div    int64
	suffix string
}

// compactScales are the short units of each language, largest last, after
// CLDR's short currency formats (no-break spaces keep a figure on one
// line). A language that has no short unit for thousands (Italian) writes
// them in full.
var compactScales = map[string][]scale{
	"en": {{1e3, "K"}, {1e6, "M"}, {1e9, "B"}},
	"de": {{1e3, "\u00a0Tsd."}, {1e6, "\u00a0Mio."}, {1e9, "\u00a0Mrd."}},
	"fr": {{1e3, "\u00a0k"}, {1e6, "\u00a0M"}, {1e9, "\u00a0Md"}},
	"es": {{1e3, "\u00a0mil"}, {1e6, "\u00a0M"}},
	"it": {{1e6, "\u00a0Mln"}, {1e9, "\u00a0Mrd"}},
	"nl": {{1e3, "K"}, {1e6, "\u00a0mln."}, {1e9, "\u00a0mld."}},
	"pt": {{1e3, "\u00a0mil"}, {1e6, "\u00a0mi"}, {1e9, "\u00a0bi"}},
	"sv": {{1e3, "\u00a0tn"}, {1e6, "\u00a0mn"}, {1e9, "\u00a0md"}},
	"da": {{1e3, "\u00a0t"}, {1e6, "\u00a0mio."}, {1e9, "\u00a0mia."}},
	"nb": {{1e3, "k"}, {1e6, "\u00a0mill."}, {1e9, "\u00a0mrd."}},
	"fi": {{1e3, "\u00a0t."}, {1e6, "\u00a0milj."}, {1e9, "\u00a0mrd."}},
	"pl": {{1e3, "\u00a0tys."}, {1e6, "\u00a0mln"}, {1e9, "\u00a0mld"}},
	"ja": {{1e4, "万"}, {1e8, "億"}},
}

// compactFrom is the smallest amount (in major units) written compactly:
// below it an axis has room for the whole figure.
const compactFrom = 10000

// Compact is m short, for a chart's axis: in the locale's compact units
// from 10,000 on ("$48K", "48 Tsd. €", "1.25M $"), otherwise whole
// ("$750", "1.234 €"); decimals only where the amount has them, at most
// two.
func (f *Formatter) Compact(m domain.Money) string {
	a, err := currency.NewAmountFromInt64(m.Amount, m.Currency)
	if err != nil {
		return m.Currency + " " + domain.FormatMajor(m.Amount, m.Currency)
	}
	major := m.Amount / pow10(domain.CurrencyDecimals(m.Currency))
	if major < 0 {
		major = -major
	}
	suffix := ""
	if major >= compactFrom {
		// The largest unit that fits: scales are smallest first.
		for i := len(f.scales) - 1; i >= 0; i-- {
			if s := f.scales[i]; major >= s.div {
				if a, err = a.Div(strconv.FormatInt(s.div, 10)); err != nil {
					return f.Format(m)
				}
				a, suffix = a.RoundTo(2, currency.RoundHalfUp), s.suffix
				break
			}
		}
	}
	out := f.short.Format(a)
	if suffix == "" {
		return out
	}
	i := strings.LastIndexFunc(out, func(r rune) bool { return r >= '0' && r <= '9' })
	return out[:i+1] + suffix + out[i+1:]
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
