package web

import (
	"strconv"
	"strings"
)

// Figures for people: counts and amounts with thousands separators,
// exactly, without floats (money on pages is written in the organization's
// locale by internal/money). Form fields keep the plain form (formatMoney),
// which people can edit and ParseDecimal reads back.

// groupDigits puts thousands separators into a decimal string:
// "-1234567.50" → "-1,234,567.50".
func groupDigits(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return sign + b.String()
}

func formatInt(n int64) string { return groupDigits(strconv.FormatInt(n, 10)) }

func itoa(n int) string { return formatInt(int64(n)) }
