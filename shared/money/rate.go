package money

import (
	"strings"

	"github.com/shopspring/decimal"
	"github.com/tandemcrm/tandem/shared/errs"
)

// Rate is a proportion between 0 and 1 inclusive (0% to 100%): a commission, a
// discount, a fee rate. Being bounded, it can scale an amount without overflow.
// The zero value is 0%.
type Rate struct {
	d decimal.Decimal
}

var (
	decimalOne    = decimal.NewFromInt(1)
	decimalMaxFen = decimal.NewFromInt(MaxFen)
)

// maxRateLen is plenty for any rate we store, and keeps hostile input cheap.
const maxRateLen = 40

// NewRate checks that d is between 0 and 1 inclusive, as read from a NUMERIC
// column, and returns it as a Rate.
func NewRate(d decimal.Decimal) (Rate, error) {
	if d.Sign() < 0 || d.Cmp(decimalOne) > 0 {
		return Rate{}, errs.E(errs.KindInvalid, CodeInvalidRate, "rate must be between 0% and 100%")
	}
	return Rate{d: d}, nil
}

// ParsePercent reads a rate written as a percentage, "6.5%" or "0.60%", or as a
// fraction, "0.065". A bare number is always a fraction, so "6.5" is 650% and
// is refused by the 0..100% check, which catches the usual slip of a missing
// '%'. Like amounts, rates are plain decimals: no sign, spaces or exponent.
func ParsePercent(s string) (Rate, error) {
	number, isPercent := strings.CutSuffix(s, "%")
	if len(s) > maxRateLen || !isPlainDecimal(number) {
		return Rate{}, errs.Wrap(inputCause("rate", s), errs.KindInvalid, CodeInvalidRate,
			`rate must be a percentage such as "6.5%" or a fraction such as "0.065"`)
	}
	d, err := decimal.NewFromString(number)
	if err != nil { // unreachable after isPlainDecimal, kept so that a change there cannot go unnoticed
		return Rate{}, errs.Wrap(err, errs.KindInvalid, CodeInvalidRate, "rate is not a decimal number")
	}
	if isPercent {
		d = d.Shift(-2)
	}
	return NewRate(d)
}

// isPlainDecimal reports whether s is digits, optionally followed by a point and
// more digits.
func isPlainDecimal(s string) bool {
	whole, frac, hasPoint := strings.Cut(s, ".")
	return allDigits(whole) && (!hasPoint || allDigits(frac))
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Decimal is the rate as a fraction (0.065 for 6.5%), for a NUMERIC column.
func (r Rate) Decimal() decimal.Decimal { return r.d }

// String is the rate as a percentage with no trailing zeros: "6.5%", "0%",
// "100%". ParsePercent reads it back to the same rate.
func (r Rate) String() string {
	p := r.d.Shift(2)
	// StringFixed never uses scientific notation, whatever the decimal
	// package's global settings say.
	s := p.StringFixed(max(0, -p.Exponent()))
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + "%"
}

// MulRate returns m scaled by r, rounded half-even to the fen (banker's rounding):
// 6.5% of 0.15 is 0.975 fen, which is 1 fen; 2.5 fen rounds to 2, 3.5 to 4, and
// negative amounts round symmetrically (-2.5 to -2). A Rate is at most 100%, so
// the result is never larger than m and cannot overflow.
func (m Money) MulRate(r Rate) Money {
	fen, _ := mulHalfEven(m.fen, r.d)
	return Money{fen: fen, cur: m.cur}
}

// Mul returns m scaled by any factor, rounded half-even to the fen like MulRate.
// It fails when the result is out of range. Prefer MulRate for proportions,
// which cannot fail.
func (m Money) Mul(factor decimal.Decimal) (Money, error) {
	fen, ok := mulHalfEven(m.fen, factor)
	if !ok {
		return Money{}, errs.E(errs.KindUnprocessable, CodeOverflow, "product is out of range")
	}
	return Money{fen: fen, cur: m.cur}, nil
}

// mulHalfEven is fen × factor rounded half-even to a whole fen; ok is false when
// that is outside ±MaxFen.
func mulHalfEven(fen int64, factor decimal.Decimal) (product int64, ok bool) {
	p := decimal.NewFromInt(fen).Mul(factor).RoundBank(0)
	if p.Abs().Cmp(decimalMaxFen) > 0 {
		return 0, false
	}
	return p.IntPart(), true
}
