package money_test

import (
	"math"
	"slices"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/tandemcrm/tandem/shared/money"
)

// decimals parses the test's ratios.
func decimals(ss ...string) []decimal.Decimal {
	ds := make([]decimal.Decimal, len(ss))
	for i, s := range ss {
		ds[i] = decimal.RequireFromString(s)
	}
	return ds
}

// fenOf lists the parts' fen.
func fenOf(parts []money.Money) []int64 {
	fen := make([]int64, len(parts))
	for i, p := range parts {
		fen[i] = p.Fen()
	}
	return fen
}

func TestAllocate(t *testing.T) {
	tests := []struct {
		name   string
		fen    int64
		ratios []string
		want   []int64
	}{
		{"thirds go to the lowest index on ties", 100, []string{"1", "1", "1"}, []int64{34, 33, 33}},
		{"two fen left", 200, []string{"1", "1", "1"}, []int64{67, 67, 66}},
		{"negative is symmetric", -100, []string{"1", "1", "1"}, []int64{-34, -33, -33}},
		{"largest remainder wins", 100, []string{"0.3", "0.3", "0.4"}, []int64{30, 30, 40}},
		{"largest remainder, not first index", 10, []string{"1", "2", "4"}, []int64{1, 3, 6}}, // 1.43 2.86 5.71
		{"weights need not sum to one", 1000, []string{"70", "20", "10"}, []int64{700, 200, 100}},
		{"mixed exponents", 1, []string{"0.001", "10"}, []int64{0, 1}},
		{"zero weight gets zero", 5, []string{"0", "1", "0", "1"}, []int64{0, 3, 0, 2}},
		{"zero amount", 0, []string{"1", "2"}, []int64{0, 0}},
		{"single part takes all", 12345, []string{"0.5"}, []int64{12345}},
		{"fewer fen than parts", 2, []string{"1", "1", "1", "1"}, []int64{1, 1, 0, 0}},
		{"max amount", math.MaxInt64, []string{"1", "1"}, []int64{math.MaxInt64/2 + 1, math.MaxInt64 / 2}},
		{"min amount", -math.MaxInt64, []string{"1", "1"}, []int64{-math.MaxInt64/2 - 1, -math.MaxInt64 / 2}},
		{"commission and merchant share", 12850, []string{"0.065", "0.935"}, []int64{835, 12015}}, // 835.25 / 12014.75
	}
	for _, tt := range tests {
		parts, err := money.Allocate(money.MustNew(tt.fen, "USD"), decimals(tt.ratios...))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := fenOf(parts); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Allocate(%d, %v) = %v, want %v", tt.name, tt.fen, tt.ratios, got, tt.want)
		}
		for _, p := range parts {
			if p.Currency() != "USD" {
				t.Errorf("%s: part in %s, want USD", tt.name, p.Currency())
			}
		}
	}
}

func TestAllocateInvalidRatios(t *testing.T) {
	for _, ratios := range [][]decimal.Decimal{nil, {}, decimals("0"), decimals("0", "0"), decimals("1", "-0.1")} {
		_, err := money.Allocate(yuan(t, "1.00"), ratios)
		wantCode(t, err, money.CodeInvalidRatios)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		fen  int64
		n    int
		want []int64
	}{
		{100, 3, []int64{34, 33, 33}},
		{-100, 3, []int64{-34, -33, -33}},
		{1, 3, []int64{1, 0, 0}},
		{99, 1, []int64{99}},
		{10, 4, []int64{3, 3, 2, 2}},
	}
	for _, tt := range tests {
		parts, err := money.Split(money.MustNew(tt.fen, money.CNY), tt.n)
		if err != nil || !slices.Equal(fenOf(parts), tt.want) {
			t.Errorf("Split(%d, %d) = %v, %v, want %v", tt.fen, tt.n, fenOf(parts), err, tt.want)
		}
	}
	for _, n := range []int{0, -1} {
		_, err := money.Split(yuan(t, "1.00"), n)
		wantCode(t, err, money.CodeInvalidRatios)
	}
}

// AllocateUnits is Allocate's rule on whole units: points over the lines of an order
// by what was paid for each (consumer's refund by line), a coupon's discount over the
// lines it covers (consumer's coupons), and the same shares as Allocate for any
// weights, negative amounts included.
func TestAllocateUnits(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		n       int64
		weights []int64
		want    []int64
	}{
		{"points by paid", 100, []int64{3_333, 3_333, 3_334}, []int64{33, 33, 34}},
		{"a tie: the lower line first", 10, []int64{100, 100, 100}, []int64{4, 3, 3}},
		{"more points than fen", 2_500, []int64{100, 150}, []int64{1_000, 1_500}},
		{"more points than fen, with remainders", 2_501, []int64{100, 150, 1}, []int64{996, 1_495, 10}}, // 996.41 1494.62 9.96: .96 and .62 round up
		{"a line its coupon paid in full earns nothing", 7, []int64{0, 500}, []int64{0, 7}},
		{"nothing to share", 0, []int64{100}, []int64{0}},
		{"a discount over what is left of the lines", 1_000, []int64{2_950, 50}, []int64{983, 17}}, // 983.33 16.67
		{"negative", -10, []int64{1, 1, 1}, []int64{-4, -3, -3}},
		{"no positive weight: nothing to share by", 5, []int64{0, 0}, []int64{0, 0}},
		{"a negative weight counts as nothing", 5, []int64{-3, 1}, []int64{0, 5}},
		{"no weights", 5, nil, []int64{}},
	} {
		if got := money.AllocateUnits(c.n, c.weights); !slices.Equal(got, c.want) {
			t.Errorf("%s: AllocateUnits(%d, %v) = %v, want %v", c.name, c.n, c.weights, got, c.want)
		}
	}
	// The same shares as Allocate, for amounts and weights of every size.
	for _, n := range []int64{1, 7, 99, 12_850, 1_000_003, -12_850, math.MaxInt64} {
		for _, ws := range [][]int64{{1}, {1, 2, 4}, {3_333, 3_333, 3_334}, {0, 5, 0, 7}, {1, 1_000_000_000_000}} {
			ratios := make([]decimal.Decimal, len(ws))
			for i, w := range ws {
				ratios[i] = decimal.NewFromInt(w)
			}
			parts, err := money.Allocate(money.MustNew(n, money.CNY), ratios)
			if err != nil {
				t.Fatal(err)
			}
			if got := money.AllocateUnits(n, ws); !slices.Equal(got, fenOf(parts)) {
				t.Errorf("AllocateUnits(%d, %v) = %v, Allocate gives %v", n, ws, got, fenOf(parts))
			}
		}
	}
}
