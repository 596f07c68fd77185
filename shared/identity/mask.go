package identity

import "strings"

// MaskIDNumber keeps an identity-card number's first and last four characters:
// 110101199003071234 → 1101**********1234.
func MaskIDNumber(s string) string {
	r := []rune(s)
	if len(r) <= 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + strings.Repeat("*", len(r)-8) + string(r[len(r)-4:])
}
