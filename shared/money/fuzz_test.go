package money_test

import (
	"math/big"
	"testing"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/money"
)

var amountSeeds = []string{
	"128.50", "128.5", "128", "-3.20", "0.01", "-0", "1.234", "", "+1", " 1", "1,000", "1e3",
	"NaN", ".5", "5.", "92233720368547758.07", "-92233720368547758.08", "-1.56000", "0.04500", "007",
}

// checkParsed is the fuzzers' property: a rejected input is an invalid-amount
// error; an accepted one has exactly the value the text says (checked with
// big.Rat) and survives String then Parse unchanged.
func checkParsed(t *testing.T, s string, m money.Money, err error) {
	if err != nil {
		if !errs.Is(err, money.CodeInvalidAmount) || errs.KindOf(err) != errs.KindInvalid {
			t.Fatalf("Parse(%q) failed with %v, want an invalid %s", s, err, money.CodeInvalidAmount)
		}
		return
	}
	want, ok := new(big.Rat).SetString(s)
	if !ok || want.Mul(want, big.NewRat(100, 1)).Cmp(new(big.Rat).SetInt64(m.Fen())) != 0 {
		t.Fatalf("Parse(%q) = %d fen, which is not what the text says", s, m.Fen())
	}
	again, err := money.ParseYuan(m.String())
	if err != nil || again != m {
		t.Fatalf("Parse(%q) = %v but Parse(%q) = %v, %v", s, m.Fen(), m.String(), again, err)
	}
}

func FuzzParseYuan(f *testing.F) {
	for _, s := range amountSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := money.ParseYuan(s)
		checkParsed(t, s, m, err)
	})
}

func FuzzParseWeChatFee(f *testing.F) {
	for _, s := range amountSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := money.ParseWeChatFee(s, money.CNY)
		checkParsed(t, s, m, err)
	})
}
