package merchant

import (
	"strings"

	"github.com/tandemcrm/tandem/shared/errs"
)

// NormalizePhone reduces a phone number to the digits that identify it: spaces,
// dashes, dots and brackets go, and so does China's country code (+86, 0086 or 86
// before an 11-digit mobile), so "+86 138-0013-8000" and "13800138000" are the same
// shop. Other international numbers keep a leading '+'.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '\u00a0':
		default:
			return "", errs.Invalidf("phone", "phone may hold only digits, spaces, dashes, brackets and a leading +")
		}
	}
	d := b.String()
	for _, cc := range []string{"+86", "0086", "86"} {
		if rest, ok := strings.CutPrefix(d, cc); ok && (cc != "86" || len(rest) == 11 && rest[0] == '1') {
			d = rest
			break
		}
	}
	if n := len(strings.TrimPrefix(d, "+")); n < 5 || n > 20 {
		return "", errs.Invalidf("phone", "phone must have 5 to 20 digits")
	}
	return d, nil
}
