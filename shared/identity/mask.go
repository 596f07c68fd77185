package identity

import "strings"

// MaskPhone keeps a phone number's first three and last four digits: 13812345678 →
// 138****5678. Shorter numbers keep only their last two.
func MaskPhone(s string) string {
	r := []rune(s)
	switch {
	case len(r) == 0:
		return ""
	case len(r) >= 11:
		return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
	case len(r) > 2:
		return strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
	}
	return strings.Repeat("*", len(r))
}

// MaskIDNumber keeps an identity-card number's first and last four characters:
// 110101199003071234 → 1101**********1234.
func MaskIDNumber(s string) string {
	r := []rune(s)
	if len(r) <= 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + strings.Repeat("*", len(r)-8) + string(r[len(r)-4:])
}
