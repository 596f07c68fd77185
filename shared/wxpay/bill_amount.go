package wxpay

import (
	"strconv"
	"time"
)

// Decimal places of the units amounts are parsed into.
const (
	fenScale      = 2 // yuan "12.34" -> 1234 fen
	milliFenScale = 5 // fee "0.04000" -> 4000 milli-fen (0.00001 yuan)
)

// parseFixed parses a decimal string such as "-1.56" into an integer count of
// 10^-scale units without floating point. It accepts at most scale decimals, an
// optional sign, and at most 18 digits once scaled (no overflow of int64).
func parseFixed(s string, scale int) (int64, bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var v int64
	digits, decimals, seenDot := 0, 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if seenDot {
				decimals++
				if decimals > scale {
					return 0, false
				}
			} else if digits++; digits+scale > 18 {
				return 0, false
			}
			v = v*10 + int64(c-'0')
		case c == '.' && !seenDot && i > 0:
			seenDot = true
		default:
			return 0, false
		}
	}
	if seenDot && decimals == 0 {
		return 0, false
	}
	for ; decimals < scale; decimals++ {
		v *= 10
	}
	if neg {
		v = -v
	}
	return v, true
}

// parseCount parses a count; the old v2 bills write counts as "20.0" (shared/wxpay/WECHATPAY.md e).
func parseCount(s string) (int64, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			for j := i + 1; j < len(s); j++ {
				if s[j] != '0' {
					return 0, false
				}
			}
			s = s[:i]
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// parseBillTime parses "2006-01-02 15:04:05" in Asia/Shanghai. It is hand-written
// because time.Parse dominates the cost of a bill line otherwise.
func parseBillTime(s string) (time.Time, bool) {
	if len(s) != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, Shanghai)
	if t.Day() != d { // 2025-02-30 would normalise to March
		return time.Time{}, false
	}
	return t, true
}

// FormatFen writes fen as yuan with two decimals ("-1.56"), exactly.
func FormatFen(fen int64) string { return string(appendFixed(nil, fen, fenScale)) }

// FormatMilliFen writes milli-fen as yuan with five decimals, as bills print fees.
func FormatMilliFen(milliFen int64) string { return string(appendFixed(nil, milliFen, milliFenScale)) }

func appendFixed(b []byte, v int64, scale int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v // a bill amount is never near math.MinInt64
	}
	var pow int64 = 1
	for range scale {
		pow *= 10
	}
	b = strconv.AppendInt(b, v/pow, 10)
	b = append(b, '.')
	frac := v % pow
	for p := pow / 10; p > 0; p /= 10 {
		b = append(b, byte('0'+frac/p%10))
	}
	return b
}
