package domain_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
)

func TestFormatMajor(t *testing.T) {
	tests := []struct {
		amount   int64
		currency string
		want     string
	}{
		{12345, "USD", "123.45"},
		{5, "USD", "0.05"},
		{-5, "USD", "-0.05"},
		{50, "USD", "0.50"},
		{100, "USD", "1.00"},
		{-12345, "USD", "-123.45"},
		{0, "USD", "0.00"},
		{99, "EUR", "0.99"},
		{12345, "XYZ", "123.45"}, // unknown currencies have 2 decimals
		{500, "JPY", "500"},
		{0, "JPY", "0"},
		{-500, "JPY", "-500"},
		{1234, "KWD", "1.234"},
		{5, "KWD", "0.005"},
		{-1, "KWD", "-0.001"},
		{1000, "BHD", "1.000"},
		{math.MaxInt64, "USD", "92233720368547758.07"},
	}
	for _, tt := range tests {
		t.Run(tt.currency+"/"+tt.want, func(t *testing.T) {
			if got := domain.FormatMajor(tt.amount, tt.currency); got != tt.want {
				t.Errorf("FormatMajor(%d, %s) = %q, want %q", tt.amount, tt.currency, got, tt.want)
			}
		})
	}
}

func TestCurrencyDecimals(t *testing.T) {
	for c, want := range map[string]int{"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3} {
		if got := domain.CurrencyDecimals(c); got != want {
			t.Errorf("CurrencyDecimals(%s) = %d, want %d", c, got, want)
		}
	}
}

func TestMoneyInputUnmarshalJSON(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    domain.MoneyInput
		wantErr bool
	}{
		{"bare integer", `12345`, domain.MoneyInput{Amount: 12345}, false},
		{"zero", `0`, domain.MoneyInput{}, false},
		{"negative integer", `-5`, domain.MoneyInput{Amount: -5}, false},
		{"object", `{"amount": 12345, "currency": "USD"}`, domain.MoneyInput{Amount: 12345, Currency: "USD"}, false},
		{"object without currency", `{"amount": 700}`, domain.MoneyInput{Amount: 700}, false},
		{"object with zero amount", `{"amount": 0, "currency": "EUR"}`, domain.MoneyInput{Amount: 0, Currency: "EUR"}, false},
		{"object missing amount", `{"currency": "USD"}`, domain.MoneyInput{}, true},
		{"empty object", `{}`, domain.MoneyInput{}, true},
		{"object with null amount", `{"amount": null, "currency": "USD"}`, domain.MoneyInput{}, true},
		{"string", `"12345"`, domain.MoneyInput{}, true},
		{"decimal number", `123.45`, domain.MoneyInput{}, true},
		{"object with decimal amount", `{"amount": 1.5, "currency": "USD"}`, domain.MoneyInput{}, true},
		{"object with string amount", `{"amount": "100", "currency": "USD"}`, domain.MoneyInput{}, true},
		{"array", `[100]`, domain.MoneyInput{}, true},
		{"boolean", `true`, domain.MoneyInput{}, true},
		{"too large", `9223372036854775808`, domain.MoneyInput{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got domain.MoneyInput
			err := json.Unmarshal([]byte(tt.json), &got)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Unmarshal(%s) = %+v, want an error", tt.json, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.json, err)
			}
			if got != tt.want {
				t.Errorf("Unmarshal(%s) = %+v, want %+v", tt.json, got, tt.want)
			}
		})
	}
	t.Run("inside a request, absent and null stay nil", func(t *testing.T) {
		for _, body := range []string{`{}`, `{"amount": null}`} {
			var req struct {
				Amount *domain.MoneyInput `json:"amount"`
			}
			if err := json.Unmarshal([]byte(body), &req); err != nil {
				t.Fatalf("Unmarshal(%s): %v", body, err)
			}
			if req.Amount != nil {
				t.Errorf("Unmarshal(%s): amount = %+v, want nil", body, *req.Amount)
			}
		}
	})
}

func TestMoneyInputIn(t *testing.T) {
	tests := []struct {
		name   string
		in     domain.MoneyInput
		cur    string
		want   domain.Money
		wantOK bool
	}{
		{"same currency", domain.MoneyInput{Amount: 100, Currency: "USD"}, "USD", domain.Money{Amount: 100, Currency: "USD"}, true},
		{"other currency", domain.MoneyInput{Amount: 100, Currency: "EUR"}, "USD", domain.Money{}, false},
		{"other case is another code", domain.MoneyInput{Amount: 100, Currency: "usd"}, "USD", domain.Money{}, false},
		{"bare integer takes the program's currency", domain.MoneyInput{Amount: 100}, "JPY", domain.Money{Amount: 100, Currency: "JPY"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.in.In(tt.cur)
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("In(%s) = %+v, %v; want %+v, %v", tt.cur, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
