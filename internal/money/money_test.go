package money

import (
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// TestFormat: amounts as people of each locale write them, from minor
// units, exactly.
func TestFormat(t *testing.T) {
	for _, c := range []struct {
		locale string
		m      domain.Money
		want   string
	}{
		{"en-US", domain.Money{Amount: 4800000, Currency: "USD"}, "$48,000.00"},
		{"", domain.Money{Amount: 4800000, Currency: "USD"}, "$48,000.00"},
		{"en-US", domain.Money{Amount: -2550, Currency: "USD"}, "-$25.50"},
		{"en-US", domain.Money{Amount: 123400, Currency: "EUR"}, "€1,234.00"},
		{"de-DE", domain.Money{Amount: 123400, Currency: "EUR"}, "1.234,00\u00a0€"},
		{"de-DE", domain.Money{Amount: 4800000, Currency: "USD"}, "48.000,00\u00a0$"},
		{"en-US", domain.Money{Amount: 1500, Currency: "JPY"}, "¥1,500"},
		{"en-US", domain.Money{Amount: 1, Currency: "USD"}, "$0.01"},
	} {
		if got := For(c.locale).Format(c.m); got != c.want {
			t.Errorf("%s %v: %q, want %q", c.locale, c.m, got, c.want)
		}
	}
	if got := For("de-DE").FormatCode(domain.Money{Amount: 123400, Currency: "EUR"}); got != "1.234,00\u00a0EUR" {
		t.Errorf("with code: %q", got)
	}
	if got := For("en-US").Join([]domain.Money{{Amount: 1000, Currency: "USD"}, {Amount: 500, Currency: "EUR"}}); got != "$10.00 + €5.00" {
		t.Errorf("join: %q", got)
	}
}

// TestCompactAndCount: a chart's money axis in each locale's short units
// from 10,000 on, whole below; counts grouped as the locale groups.
func TestCompactAndCount(t *testing.T) {
	for _, c := range []struct {
		locale string
		m      domain.Money
		want   string
	}{
		{"en-US", domain.Money{Amount: 4800000, Currency: "USD"}, "$48K"},
		{"en-US", domain.Money{Amount: 125000000, Currency: "USD"}, "$1.25M"},
		{"en-US", domain.Money{Amount: -2000000, Currency: "USD"}, "-$20K"},
		{"en-US", domain.Money{Amount: 75000, Currency: "USD"}, "$750"},
		{"en-US", domain.Money{Amount: 999900, Currency: "USD"}, "$9,999"},
		{"en-US", domain.Money{Amount: 1050, Currency: "USD"}, "$10.5"},
		{"en-US", domain.Money{Amount: 0, Currency: "USD"}, "$0"},
		{"de-DE", domain.Money{Amount: 4800000, Currency: "EUR"}, "48\u00a0Tsd.\u00a0€"},
		{"de-DE", domain.Money{Amount: 123400, Currency: "EUR"}, "1.234\u00a0€"},
		{"fr-FR", domain.Money{Amount: 300000000, Currency: "EUR"}, "3\u00a0M\u00a0€"},
		{"it-IT", domain.Money{Amount: 4800000, Currency: "EUR"}, "48.000\u00a0€"},
		{"nl-NL", domain.Money{Amount: 4800000, Currency: "EUR"}, "€\u00a048K"},
		{"ja-JP", domain.Money{Amount: 480000, Currency: "JPY"}, "￥48万"},
		{"en-US", domain.Money{Amount: 4800000, Currency: "ZZZ"}, "ZZZ 48000.00"},
	} {
		if got := For(c.locale).Compact(c.m); got != c.want {
			t.Errorf("%s %v: %q, want %q", c.locale, c.m, got, c.want)
		}
	}
	for locale, want := range map[string]string{"en-US": "12,345", "de-DE": "12.345", "fr-FR": "12\u202f345", "de-CH": "12'345"} {
		if got := For(locale).Count(12345); got != want {
			t.Errorf("Count in %s: %q, want %q", locale, got, want)
		}
	}
}
