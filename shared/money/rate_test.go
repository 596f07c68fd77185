package money_test

import (
	"math"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/tandemcrm/tandem/shared/money"
)

func TestParsePercent(t *testing.T) {
	valid := []struct{ in, fraction, display string }{
		{"6.5%", "0.065", "6.5%"},
		{"0.065", "0.065", "6.5%"},
		{"0.60%", "0.006", "0.6%"},
		{"0%", "0", "0%"},
		{"0", "0", "0%"},
		{"100%", "1", "100%"},
		{"1", "1", "100%"},
		{"1.000", "1", "100%"},
		{"0.0001%", "0.000001", "0.0001%"},
		{"12.345%", "0.12345", "12.345%"},
	}
	for _, tt := range valid {
		r, err := money.ParsePercent(tt.in)
		if err != nil {
			t.Errorf("ParsePercent(%q): %v", tt.in, err)
			continue
		}
		if !r.Decimal().Equal(decimal.RequireFromString(tt.fraction)) {
			t.Errorf("ParsePercent(%q) = %s, want fraction %s", tt.in, r.Decimal(), tt.fraction)
		}
		if r.String() != tt.display {
			t.Errorf("ParsePercent(%q).String() = %q, want %q", tt.in, r.String(), tt.display)
		}
		back, err := money.ParsePercent(r.String())
		if err != nil || !back.Decimal().Equal(r.Decimal()) {
			t.Errorf("ParsePercent(%q) does not read back its String %q: %v", tt.in, r.String(), err)
		}
	}
	invalid := []string{"", "%", "6.5", "100.01%", "1.0001", "-1%", "-0.1", "+5%", " 5%", "5 %", "5%%",
		"6,5%", "1e-2", "NaN", "Inf", ".5%", "5.%", "50‰", "0." + "0000000000000000000000000000000000000001"}
	for _, in := range invalid {
		_, err := money.ParsePercent(in)
		wantCode(t, err, money.CodeInvalidRate)
	}
}

func TestNewRate(t *testing.T) {
	for _, ok := range []string{"0", "0.5", "1", "0.000001"} {
		if _, err := money.NewRate(decimal.RequireFromString(ok)); err != nil {
			t.Errorf("NewRate(%s): %v", ok, err)
		}
	}
	for _, bad := range []string{"-0.000001", "1.000001", "6.5"} {
		_, err := money.NewRate(decimal.RequireFromString(bad))
		wantCode(t, err, money.CodeInvalidRate)
	}
	var zero money.Rate
	if zero.String() != "0%" || !yuan(t, "10.00").MulRate(zero).IsZero() {
		t.Error("the zero Rate is 0%")
	}
}

func TestMulRateRoundsHalfEven(t *testing.T) {
	tests := []struct {
		fen  int64
		rate string
		want int64
	}{
		{15, "6.5%", 1},       // 0.975 fen
		{5, "50%", 2},         // 2.5 fen: to even, down
		{7, "50%", 4},         // 3.5 fen: to even, up
		{-5, "50%", -2},       // symmetric for refunds
		{-7, "50%", -4},       // symmetric for refunds
		{25, "10%", 2},        // 2.5
		{35, "10%", 4},        // 3.5
		{26000, "0.60%", 156}, // WeChat's fee on a 260.00 refund
		{600, "0.60%", 4},     // 3.6 fen
		{1, "49.9999%", 0},
		{1, "50.0001%", 1},
		{12850, "100%", 12850},
		{12850, "0%", 0},
		{math.MaxInt64, "100%", math.MaxInt64},
		{-math.MaxInt64, "50%", -4611686018427387904}, // -4611686018427387903.5 to even
	}
	for _, tt := range tests {
		r, err := money.ParsePercent(tt.rate)
		if err != nil {
			t.Fatal(err)
		}
		got := money.MustNew(tt.fen, money.CNY).MulRate(r)
		if got.Fen() != tt.want || got.Currency() != money.CNY {
			t.Errorf("%d fen × %s = %d %s, want %d", tt.fen, tt.rate, got.Fen(), got.Currency(), tt.want)
		}
	}
	if got := money.MustNew(5, "USD").MulRate(money.Rate{}); got.Currency() != "USD" {
		t.Errorf("MulRate kept currency %s, want USD", got.Currency())
	}
}

func TestMul(t *testing.T) {
	tests := []struct {
		fen    int64
		factor string
		want   int64
		ok     bool
	}{
		{100, "1.06", 106, true},
		{250, "0.01", 2, true}, // 2.5
		{-250, "0.01", -2, true},
		{3, "-1.5", -4, true}, // -4.5 to even
		{math.MaxInt64, "1", math.MaxInt64, true},
		{math.MaxInt64, "1.0000000000000000001", 0, false},
		{math.MaxInt64 / 2, "2.0000000001", 0, false},
		{-math.MaxInt64, "-1", math.MaxInt64, true},
		{0, "1e30", 0, true},
	}
	for _, tt := range tests {
		got, err := money.MustNew(tt.fen, money.CNY).Mul(decimal.RequireFromString(tt.factor))
		if !tt.ok {
			wantCode(t, err, money.CodeOverflow)
			continue
		}
		if err != nil || got.Fen() != tt.want {
			t.Errorf("%d × %s = %v, %v, want %d fen", tt.fen, tt.factor, got.Fen(), err, tt.want)
		}
	}
}
