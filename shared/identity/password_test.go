package identity_test

import (
	"testing"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

func TestPasswordRules(t *testing.T) {
	cases := []struct {
		pw, login string
		ok        bool
	}{
		{"short1", "bob", false},
		{"onlyletterslong", "bob", false},
		{"1234567890123", "bob", false},
		{"my-bob-password-1", "bob", false},
		{"correct horse 42", "bob", true},
		{"密码很长很长的密码123", "bob", true},
	}
	for _, c := range cases {
		err := identity.CheckPassword(c.pw, c.login)
		if (err == nil) != c.ok {
			t.Errorf("%q: got %v, want ok=%v", c.pw, err, c.ok)
		}
		if err != nil && (errs.CodeOf(err) != "identity.password_weak" || errs.As(err).Field != "password") {
			t.Errorf("%q: error %v must be identity.password_weak on field password", c.pw, err)
		}
	}
}

// Phones are masked by shared/phone (its tests); identity masks ID numbers.
func TestMasking(t *testing.T) {
	if got := identity.MaskIDNumber("110101199003071234"); got != "1101**********1234" {
		t.Errorf("mask = %q", got)
	}
}
