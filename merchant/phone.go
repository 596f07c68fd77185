package merchant

import (
	"strings"

	phonenum "github.com/tandemcrm/tandem/shared/phone"
)

// normalizePhone is the one place leads' phones are normalised (create, edit, import,
// dedup): the platform's phone helper, E.164 for mobiles and landlines alike.
func normalizePhone(s string) (string, error) { return phonenum.Normalize("phone", s) }

// phoneMemo normalises an import's phones through normalizePhone, remembering which
// Chinese mobile blocks (号段, the first seven digits) it found valid: the number plan
// decides a mobile's validity by its first digits only (at most five in
// libphonenumber's metadata), so another eleven-digit number of a valid block is
// "+86" and its digits. This spares the helper's regular expressions (tens of
// microseconds a number) on all but the first number of each block.
type phoneMemo map[string]bool

func (m phoneMemo) normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 11 && s[0] == '1' && allDigits(s) {
		if m[s[:7]] {
			return "+86" + s, nil
		}
		out, err := normalizePhone(s)
		if err == nil && out == "+86"+s {
			m[s[:7]] = true
		}
		return out, err
	}
	return normalizePhone(s)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
