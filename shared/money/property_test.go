package money_test

// Property tests: random values from a fixed seed, so a failure is reproducible,
// checked against an independent reference in math/big.

import (
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/money"
)

// iterations is how many random cases each property checks; fewer under -short.
func iterations(t *testing.T, n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(20240601, 42)) }

// randomFen draws a fen count in [-MaxFen, MaxFen], mixing magnitudes so that
// small amounts, huge ones and the edges all come up often.
func randomFen(rng *rand.Rand) int64 {
	var fen int64
	switch rng.IntN(5) {
	case 0:
		fen = rng.Int64N(1000)
	case 1:
		fen = rng.Int64N(100_000_000)
	case 2:
		fen = rng.Int64() // full range
	case 3:
		fen = math.MaxInt64 - rng.Int64N(1000)
	default:
		p := int64(1)
		for range rng.IntN(19) {
			p *= 10
		}
		fen = p + rng.Int64N(3) - 1
	}
	if rng.IntN(2) == 0 {
		fen = -fen
	}
	return fen
}

func TestPropertyFormatThenParseIsIdentity(t *testing.T) {
	rng := newRand()
	edges := []int64{0, 1, -1, 99, -99, 100, -100, 101, math.MaxInt64, -math.MaxInt64, math.MaxInt64 - 1}
	for i := 0; i < iterations(t, 200_000); i++ {
		fen := randomFen(rng)
		if i < len(edges) {
			fen = edges[i]
		}
		m := money.MustNew(fen, money.CNY)
		s := m.String()
		if got, err := money.ParseYuan(s); err != nil || got != m {
			t.Fatalf("ParseYuan(String(%d fen) = %q) = %v, %v", fen, s, got, err)
		}
		if got, err := money.ParseWeChatFee(s+"000", money.CNY); err != nil || got != m {
			t.Fatalf("ParseWeChatFee(%q) = %v, %v, want %d fen", s+"000", got, err, fen)
		}
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back money.Money
		if err := json.Unmarshal(data, &back); err != nil || back != m {
			t.Fatalf("JSON round trip of %d fen via %s = %v, %v", fen, data, back, err)
		}
	}
}

// randomCanonical writes an amount the way String does, or just past the
// edge of the range, together with its value.
func randomCanonical(rng *rand.Rand) (string, *big.Int) {
	var b strings.Builder
	wholeDigits := 1 + rng.IntN(18) // up to one digit more than MaxFen has
	b.WriteByte(byte('1' + rng.IntN(9)))
	for range wholeDigits - 1 {
		b.WriteByte(byte('0' + rng.IntN(10)))
	}
	whole := b.String()
	if rng.IntN(10) == 0 {
		whole = "0"
	}
	s := whole + "." + strconv.Itoa(rng.IntN(10)) + strconv.Itoa(rng.IntN(10))
	if s != "0.00" && rng.IntN(2) == 0 {
		s = "-" + s
	}
	value, _ := new(big.Int).SetString(strings.Replace(s, ".", "", 1), 10)
	return s, value
}

func TestPropertyParseThenFormatIsIdentityForCanonicalStrings(t *testing.T) {
	rng := newRand()
	maxFen := big.NewInt(math.MaxInt64)
	for i := 0; i < iterations(t, 200_000); i++ {
		s, fen := randomCanonical(rng)
		m, err := money.ParseYuan(s)
		if new(big.Int).Abs(fen).Cmp(maxFen) > 0 {
			if !errs.Is(err, money.CodeInvalidAmount) {
				t.Fatalf("ParseYuan(%q) beyond the range = %v, %v; want %s", s, m, err, money.CodeInvalidAmount)
			}
			continue
		}
		if err != nil || m.String() != s || m.Fen() != fen.Int64() {
			t.Fatalf("ParseYuan(%q) = %v (%d fen), %v", s, m, m.Fen(), err)
		}
	}
}

func TestPropertyAddSubMatchBigInt(t *testing.T) {
	rng := newRand()
	maxFen := big.NewInt(math.MaxInt64)
	for i := 0; i < iterations(t, 200_000); i++ {
		a, b := money.MustNew(randomFen(rng), money.CNY), money.MustNew(randomFen(rng), money.CNY)
		for _, op := range []struct {
			name string
			do   func(money.Money) (money.Money, error)
			ref  func(x, y *big.Int) *big.Int
		}{
			{"+", a.Add, new(big.Int).Add},
			{"-", a.Sub, new(big.Int).Sub},
		} {
			got, err := op.do(b)
			want := op.ref(big.NewInt(a.Fen()), big.NewInt(b.Fen()))
			if new(big.Int).Abs(want).Cmp(maxFen) > 0 {
				if !errs.Is(err, money.CodeOverflow) {
					t.Fatalf("%d %s %d = %v, %v; want overflow", a.Fen(), op.name, b.Fen(), got, err)
				}
				continue
			}
			if err != nil || got.Fen() != want.Int64() {
				t.Fatalf("%d %s %d = %v, %v; want %s", a.Fen(), op.name, b.Fen(), got.Fen(), err, want)
			}
		}
	}
}

// roundHalfEven is the reference rounding: r to the nearest integer, ties to even.
func roundHalfEven(r *big.Rat) *big.Int {
	floor, rem := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int)) // Euclidean: rem >= 0
	switch new(big.Int).Lsh(rem, 1).Cmp(r.Denom()) {
	case 1:
		floor.Add(floor, big.NewInt(1))
	case 0:
		if floor.Bit(0) == 1 {
			floor.Add(floor, big.NewInt(1))
		}
	}
	return floor
}

// randomRate draws a rate in [0, 1]: often an exact tie-maker such as 50% or
// 12.5%, otherwise up to 8 decimals.
func randomRate(rng *rand.Rand) decimal.Decimal {
	if rng.IntN(4) == 0 {
		ties := []string{"0.5", "0.25", "0.125", "0.05", "0.005", "0.065", "0.006", "1", "0"}
		return decimal.RequireFromString(ties[rng.IntN(len(ties))])
	}
	places := rng.IntN(9)
	scale := int64(math.Pow10(places))
	return decimal.New(rng.Int64N(scale+1), -int32(places))
}

func TestPropertyMulRateMatchesBigRatHalfEven(t *testing.T) {
	rng := newRand()
	for i := 0; i < iterations(t, 100_000); i++ {
		fen := randomFen(rng)
		if rng.IntN(2) == 0 {
			fen %= 10_000 // small amounts hit ties more often
		}
		d := randomRate(rng)
		rate, err := money.NewRate(d)
		if err != nil {
			t.Fatal(err)
		}
		want := roundHalfEven(new(big.Rat).Mul(new(big.Rat).SetInt64(fen), d.Rat()))
		got := money.MustNew(fen, money.CNY).MulRate(rate)
		if !want.IsInt64() || got.Fen() != want.Int64() {
			t.Fatalf("%d fen × %s = %d, want %s", fen, d, got.Fen(), want)
		}
	}
}

func TestPropertyMulMatchesBigRatHalfEven(t *testing.T) {
	rng := newRand()
	maxFen := big.NewInt(math.MaxInt64)
	for i := 0; i < iterations(t, 100_000); i++ {
		fen := randomFen(rng)
		factor := decimal.New(rng.Int64N(2_000_000_000)-1_000_000_000, -int32(rng.IntN(12)))
		want := roundHalfEven(new(big.Rat).Mul(new(big.Rat).SetInt64(fen), factor.Rat()))
		got, err := money.MustNew(fen, money.CNY).Mul(factor)
		if new(big.Int).Abs(want).Cmp(maxFen) > 0 {
			if !errs.Is(err, money.CodeOverflow) {
				t.Fatalf("%d fen × %s = %v, %v; want overflow", fen, factor, got.Fen(), err)
			}
			continue
		}
		if err != nil || got.Fen() != want.Int64() {
			t.Fatalf("%d fen × %s = %d, %v; want %s", fen, factor, got.Fen(), err, want)
		}
	}
}

func TestPropertyAllocateSumsExactlyAndStaysWithinOneFen(t *testing.T) {
	rng := newRand()
	for i := 0; i < iterations(t, 20_000); i++ {
		amount := money.MustNew(randomFen(rng), money.CNY)
		ratios := make([]decimal.Decimal, 1+rng.IntN(12))
		total := new(big.Rat)
		for j := range ratios {
			if rng.IntN(5) > 0 {
				ratios[j] = decimal.New(rng.Int64N(1_000_000), int32(rng.IntN(7)-4))
			}
			total.Add(total, ratios[j].Rat())
		}
		if total.Sign() == 0 {
			ratios[0], total = decimal.NewFromInt(1), big.NewRat(1, 1)
		}

		parts, err := money.Allocate(amount, ratios)
		if err != nil {
			t.Fatalf("Allocate(%d, %v): %v", amount.Fen(), ratios, err)
		}
		sum := new(big.Int)
		for j, part := range parts {
			sum.Add(sum, big.NewInt(part.Fen()))
			exact := new(big.Rat).Mul(new(big.Rat).SetInt64(amount.Fen()), ratios[j].Rat())
			exact.Quo(exact, total)
			off := new(big.Rat).Sub(new(big.Rat).SetInt64(part.Fen()), exact)
			if off.Abs(off).Cmp(big.NewRat(1, 1)) >= 0 {
				t.Fatalf("Allocate(%d, %v)[%d] = %d, exact share %s", amount.Fen(), ratios, j, part.Fen(), exact.FloatString(3))
			}
		}
		if !sum.IsInt64() || sum.Int64() != amount.Fen() {
			t.Fatalf("Allocate(%d, %v) = %v sums to %s", amount.Fen(), ratios, fenOf(parts), sum)
		}

		negated, err := money.Allocate(amount.Neg(), ratios)
		if err != nil {
			t.Fatal(err)
		}
		for j := range parts {
			if negated[j] != parts[j].Neg() {
				t.Fatalf("Allocate(-x) != -Allocate(x) for x=%d, %v: %v vs %v", amount.Fen(), ratios, fenOf(negated), fenOf(parts))
			}
		}
	}
}
