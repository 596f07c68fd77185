package money

import (
	"math/big"
	"slices"

	"github.com/shopspring/decimal"
	"github.com/tandemcrm/tandem/shared/errs"
)

// Allocate splits amount into len(ratios) parts proportional to the ratios,
// such that the parts add up to amount exactly: no fen is created or lost.
//
// It uses the largest-remainder method: every part first gets its exact share
// rounded toward zero, then the fen left over go one each to the parts whose
// shares had the largest fractional remainders, the lower index first on ties.
// So each part is within one fen of its exact share. A negative amount is split
// as its magnitude and the parts negated, so Allocate(-x) is -Allocate(x).
//
// Ratios are weights, not fractions: {1, 1, 2} gives a quarter, a quarter and a
// half. They must be non-negative, at least one must be positive, and a part
// with weight 0 gets 0.
func Allocate(amount Money, ratios []decimal.Decimal) ([]Money, error) {
	weights, err := integerWeights(ratios)
	if err != nil {
		return nil, err
	}
	total := new(big.Int)
	for _, w := range weights {
		total.Add(total, w)
	}

	magnitude := amount.fen
	if magnitude < 0 {
		magnitude = -magnitude // cannot overflow: Money excludes math.MinInt64
	}
	bigMagnitude := big.NewInt(magnitude)

	fen := make([]int64, len(weights))
	remainders := make([]*big.Int, len(weights))
	left := magnitude
	for i, w := range weights {
		// share_i = magnitude × w_i / total = quotient + remainder/total
		quotient, remainder := new(big.Int).QuoRem(new(big.Int).Mul(bigMagnitude, w), total, new(big.Int))
		fen[i] = quotient.Int64() // at most magnitude, so it fits
		remainders[i] = remainder
		left -= fen[i]
	}

	// The remainders sum to left × total, each is below total, so left < len(weights).
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return remainders[b].Cmp(remainders[a]) })
	for _, i := range order[:left] {
		fen[i]++
	}

	parts := make([]Money, len(fen))
	for i, f := range fen {
		if amount.fen < 0 {
			f = -f
		}
		parts[i] = Money{fen: f, cur: amount.cur}
	}
	return parts, nil
}

// Split divides amount into n parts as equal as possible that add up to it
// exactly; the first parts get the extra fen: Split(1.00, 3) is 0.34, 0.33, 0.33.
func Split(amount Money, n int) ([]Money, error) {
	if n < 1 {
		return nil, errs.E(errs.KindInvalid, CodeInvalidRatios, "an amount must be split into at least one part")
	}
	ratios := make([]decimal.Decimal, n)
	for i := range ratios {
		ratios[i] = decimalOne
	}
	return Allocate(amount, ratios)
}

// integerWeights validates ratios and scales them all by the same power of ten
// into whole numbers, so that the shares can be computed exactly.
func integerWeights(ratios []decimal.Decimal) ([]*big.Int, error) {
	if len(ratios) == 0 {
		return nil, errs.E(errs.KindInvalid, CodeInvalidRatios, "an amount must be split into at least one part")
	}
	positive := false
	minExp := ratios[0].Exponent()
	for _, r := range ratios {
		switch r.Sign() {
		case -1:
			return nil, errs.E(errs.KindInvalid, CodeInvalidRatios, "allocation ratios must not be negative")
		case 1:
			positive = true
		}
		minExp = min(minExp, r.Exponent())
	}
	if !positive {
		return nil, errs.E(errs.KindInvalid, CodeInvalidRatios, "at least one allocation ratio must be positive")
	}
	weights := make([]*big.Int, len(ratios))
	for i, r := range ratios {
		scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(r.Exponent())-int64(minExp)), nil)
		weights[i] = scale.Mul(scale, r.Coefficient())
	}
	return weights, nil
}
