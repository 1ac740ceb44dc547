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
