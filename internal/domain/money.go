package domain

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sync"
)

// Money is an amount in integer minor units of an ISO 4217 currency.
// No floats appear anywhere in money paths.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// MaxAmount is the largest amount of money, in minor units, the product
// accepts in any input: a conversion's value, a refund, a deal's value, a
// rule's flat amount, a minimum purchase, a revenue tier's bound. 10^15
// minor units is ten trillion dollars — far beyond any real sale — and it
// leaves room to add up 9,223 such amounts before an int64 overflows.
// Totals are still added with overflow checks (AddAmounts, Sum, Totals):
// the bound makes an overflow need thousands of absurd inputs, the checks
// make it fail loudly instead of wrapping negative.
const MaxAmount int64 = 1_000_000_000_000_000

// CheckAmount records on field an amount outside 0…MaxAmount (or
// 1…MaxAmount when positive is set).
func (v *Validation) CheckAmount(amount int64, field string, positive bool) {
	switch {
	case positive && amount <= 0:
		v.Add(field, "must be a positive integer of minor units (at most %d)", MaxAmount)
	case amount < 0:
		v.Add(field, "must not be negative")
	case amount > MaxAmount:
		v.Add(field, "must be at most %d minor units", MaxAmount)
	}
}

// Compiled on first use, not at package initialisation (see vanityCodeRe).
var currencyRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z]{3}$`) })

// ValidCurrency reports whether c looks like an ISO 4217 code.
func ValidCurrency(c string) bool { return currencyRe().MatchString(c) }

// currencyDecimals lists currencies whose minor unit is not 1/100.
var currencyDecimals = map[string]int{
	"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3, "IQD": 3, "LYD": 3,
}

// CurrencyDecimals returns how many decimals the currency's minor unit has.
func CurrencyDecimals(c string) int {
	if d, ok := currencyDecimals[c]; ok {
		return d
	}
	return 2
}

// FormatMajor renders minor units as a decimal string in major units
// ("-12.05"), exactly, without floats.
func FormatMajor(amount int64, currency string) string {
	d := CurrencyDecimals(currency)
	neg := amount < 0
	u := uint64(amount)
	if neg {
		u = uint64(-amount)
	}
	s := fmt.Sprintf("%d", u)
	if d > 0 {
		for len(s) <= d {
			s = "0" + s
		}
		s = s[:len(s)-d] + "." + s[len(s)-d:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MoneyInput is how requests may give an amount: either a Money object or a
// bare integer of minor units in the program's currency.
type MoneyInput struct {
	Amount   int64
	Currency string // empty when given as a bare integer
}

// UnmarshalJSON accepts {"amount": 123, "currency": "USD"} or 123.
func (m *MoneyInput) UnmarshalJSON(b []byte) error {
	var n int64
	if err := json.Unmarshal(b, &n); err == nil {
		*m = MoneyInput{Amount: n}
		return nil
	}
	var obj struct {
		Amount   *int64 `json:"amount"`
		Currency string `json:"currency"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("must be an integer of minor units or {\"amount\", \"currency\"}")
	}
	if obj.Amount == nil {
		return fmt.Errorf("amount is required")
	}
	*m = MoneyInput{Amount: *obj.Amount, Currency: obj.Currency}
	return nil
}

// In resolves the input against the currency in force; a different explicit
// currency is rejected because multi-currency is not built yet.
func (m MoneyInput) In(currency string) (Money, bool) {
	if m.Currency != "" && m.Currency != currency {
		return Money{}, false
	}
	return Money{Amount: m.Amount, Currency: currency}, true
}
