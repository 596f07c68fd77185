package merchant

import (
	"strings"

	"github.com/tandemcrm/tandem/shared/errs"
)

// normalizePhone is the one place leads' phones are normalised (create, edit, import,
// dedup), so that the platform's phone helper replaces NormalizePhone in one line.
func normalizePhone(s string) (string, error) { return NormalizePhone(s) }

// NormalizePhone reduces a phone number to the digits that identify it: spaces,
// dashes, dots and brackets go, and so does China's country code (+86 or 0086, or 86
// before an 11-digit mobile), so "+86 138-0013-8000" and "13800138000" are the same
// shop, and so are "+86 21 6288 0000" and "021-6288-0000" (a landline keeps its trunk
// 0). A Chinese number must be a mobile (1, then 10 digits) or a landline (0, a 2-3
// digit area code, 7-8 digits); other international numbers keep a leading '+'.
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
	national := !strings.HasPrefix(d, "+") && !strings.HasPrefix(d, "00")
	for _, cc := range []string{"+86", "0086", "86"} {
		if rest, ok := strings.CutPrefix(d, cc); ok && (cc != "86" || len(rest) == 11 && rest[0] == '1') {
			d, national = rest, true
			if rest != "" && rest[0] != '1' && rest[0] != '0' {
				d = "0" + rest // +86 21 …: the landline's trunk 0 comes back
			}
			break
		}
	}
	if !national {
		if n := len(strings.TrimPrefix(d, "+")); n < 8 || n > 16 {
			return "", errs.Invalidf("phone", "an international phone has 8 to 15 digits after +")
		}
		return d, nil
	}
	switch {
	case len(d) == 11 && d[0] == '1' && d[1] >= '3':
	case len(d) >= 10 && len(d) <= 12 && d[0] == '0' && d[1] != '0':
	default:
		return "", errs.Invalidf("phone", "not a Chinese phone: a mobile has 11 digits from 13…, a landline an area code from 0 and 7-8 digits")
	}
	return d, nil
}
