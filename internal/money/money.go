// Package money formats amounts for people, in an organization's locale:
// "$48,000.00" for en-US, "48.000,00 €" for de-DE. The locale data (CLDR)
// comes from github.com/bojanz/currency, so separators, symbol placement
// and digits follow each locale's conventions instead of our guesses.
package money

import (
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
	f, _ := cache.LoadOrStore(locale, &Formatter{locale: locale, f: currency.NewFormatter(l), codes: codes})
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
