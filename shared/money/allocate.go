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
	fen := largestRemainder(amount.fen, weights)
	parts := make([]Money, len(fen))
	for i, f := range fen {
		parts[i] = Money{fen: f, cur: amount.cur}
	}
	return parts, nil
}

// AllocateUnits is Allocate of a whole number of units (fen, points) over whole
// weights, for callers that count in int64: the same largest-remainder rule, the lower
// index first on ties, a negative n split as its magnitude and negated. Weights must
// not be negative (a negative weight counts as 0); when no weight is positive there is
// nothing to share by, and every share is 0.
func AllocateUnits(n int64, weights []int64) []int64 {
	ws := make([]*big.Int, len(weights))
	positive := false
	for i, w := range weights {
		ws[i] = big.NewInt(max(w, 0))
		positive = positive || w > 0
	}
	if !positive {
		return make([]int64, len(weights))
	}
	return largestRemainder(n, ws)
}

// largestRemainder splits n over weights (non-negative, at least one positive): every
// part first gets its exact share of |n| rounded toward zero, then the units left over
// go one each to the parts with the largest fractional remainders, the lower index
// first on ties; a negative n's parts are negated.
func largestRemainder(n int64, weights []*big.Int) []int64 {
	total := new(big.Int)
	for _, w := range weights {
		total.Add(total, w)
	}
	magnitude := n
	if magnitude < 0 {
		magnitude = -magnitude // cannot overflow: Money excludes math.MinInt64, callers of AllocateUnits count far less
	}
	bigMagnitude := big.NewInt(magnitude)

	out := make([]int64, len(weights))
	remainders := make([]*big.Int, len(weights))
	left := magnitude
	for i, w := range weights {
		// share_i = magnitude × w_i / total = quotient + remainder/total
		quotient, remainder := new(big.Int).QuoRem(new(big.Int).Mul(bigMagnitude, w), total, new(big.Int))
		out[i] = quotient.Int64() // at most magnitude, so it fits
		remainders[i] = remainder
		left -= out[i]
	}

	// The remainders sum to left × total, each is below total, so left < len(weights).
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return remainders[b].Cmp(remainders[a]) })
	for _, i := range order[:left] {
		out[i]++
	}
	if n < 0 {
		for i := range out {
			out[i] = -out[i]
		}
	}
	return out
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
