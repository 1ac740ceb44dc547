package identity

import (
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/domain"
)

func TestCheckNewPassword(t *testing.T) {
	const email, org = "ada.lovelace@acme.example", "Acme, Inc."
	weak := []string{
		"", "short", "elevenchars", strings.Repeat("y", 257),
		"password1234", "PASSWORD1234", "Password-1234", "qwertyuiop123",
		"ada.lovelace@acme.example!", "ADA.LOVELACE 99", "my acme inc password",
		"zzzzzzzzzzzzzzz", "abababababab", "abcdefghijklmnop", "yzabcdefghijk", "0987654321098", "1234567890123",
	}
	for _, pw := range weak {
		err := CheckNewPassword(pw, email, org)
		e, ok := domain.AsError(err)
		if !ok || e.Kind != domain.KindInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "password" {
			t.Errorf("CheckNewPassword(%q) = %v, want a validation error on password", pw, err)
		}
	}
	for _, pw := range []string{"violet-harbour-lantern-42", "correct horse battery staple 9", "Ünïcødé-пароль-密码-ok", "ada likes 12 lamps"} {
		if err := CheckNewPassword(pw, email, org); err != nil {
			t.Errorf("CheckNewPassword(%q) = %v, want nil", pw, err)
		}
	}
}
