// Package money is Tandem's exact money type: a whole number of minor units (fen)
// and an ISO 4217 currency. There are no floats anywhere in this package.
//
// Assumption: every currency Tandem handles has exactly 2 decimal places, so one
// major unit is always 100 minor units and "fen" below means the minor unit of
// whatever currency an amount is in. ISO 4217 currencies with another number of
// decimals (JPY, KWD, CLF, XAU, ...) are rejected by name rather than silently
// mis-scaled; supporting them means adding an exponent to Currency first.
//
// Amounts are stored in PostgreSQL as BIGINT fen plus a currency column, and shown
// in the API as a decimal string in major units with its currency:
// {"amount":"128.50","currency":"CNY"}.
//
// Operations that can fail on data (a currency mismatch, an overflow) return an
// error rather than panic: the currencies and the amounts come from requests and
// rows, so a mismatch is a fact about the data, not only a programmer's mistake.
package money

import (
	"math"
	"strconv"

	"github.com/tandemcrm/tandem/shared/errs"
)

// Error codes of this package, for errs.Is.
const (
	CodeInvalidAmount    = "money.invalid_amount"
	CodeInvalidCurrency  = "money.invalid_currency"
	CodeCurrencyMismatch = "money.currency_mismatch"
	CodeOverflow         = "money.overflow"
	CodeInvalidRate      = "money.invalid_rate"
	CodeInvalidRatios    = "money.invalid_ratios"
)

// MaxFen is the largest magnitude an amount may have, in fen. The range is
// symmetric, [-MaxFen, MaxFen], so that negating an amount can never overflow:
// math.MinInt64 is not a valid amount.
const MaxFen = math.MaxInt64

// MaxPaymentFen is the largest amount one payment or refund may have: WeChat Pay's
// amount.total and amount.refund are 32-bit integers of fen, so 2^31-1 fen,
// 21,474,836.47 yuan. The API refuses more at its edge (shared/httpx), billing
// refuses it again, and no total ever nears MaxFen.
const MaxPaymentFen = math.MaxInt32

// Money is an exact amount: a whole number of fen in one currency.
//
// The zero value is 0.00 CNY, and == compares amounts by value: the currency is
// stored as "" when it is CNY, so Money{} and a parsed "0.00" CNY are equal.
// Values are immutable; every operation returns a new Money.
type Money struct {
	fen int64
	cur Currency // "" stands for CNY; see Currency()
}

// New returns fen minor units of cur. It fails when the currency is not a
// supported ISO 4217 code or fen is math.MinInt64 (outside the symmetric range).
func New(fen int64, cur Currency) (Money, error) {
	if err := cur.validate(); err != nil {
		return Money{}, err
	}
	if fen < -MaxFen {
		return Money{}, errs.E(errs.KindUnprocessable, CodeOverflow, "amount is out of range")
	}
	return newMoney(fen, cur), nil
}

// MustNew is New for amounts known to be valid (constants, tests); it panics
// otherwise.
func MustNew(fen int64, cur Currency) Money {
	m, err := New(fen, cur)
	if err != nil {
		panic(err)
	}
	return m
}

// newMoney builds a Money from an already validated currency and fen count.
func newMoney(fen int64, cur Currency) Money {
	if cur == CNY {
		cur = ""
	}
	return Money{fen: fen, cur: cur}
}

// Fen is the amount in minor units, as stored in a BIGINT column.
func (m Money) Fen() int64 { return m.fen }

// Currency is the amount's currency.
func (m Money) Currency() Currency {
	if m.cur == "" {
		return CNY
	}
	return m.cur
}

// String is the amount in major units with exactly 2 decimals and no currency:
// "128.50", "0.00", "-0.05".
func (m Money) String() string {
	return string(appendYuan(make([]byte, 0, 24), m.fen))
}

// StringWithCurrency is the amount followed by its currency code, "128.50 CNY",
// for messages and logs. (It is not named Format: go vet reserves that name for
// fmt.Formatter.)
func (m Money) StringWithCurrency() string {
	b := appendYuan(make([]byte, 0, 28), m.fen)
	b = append(b, ' ')
	return string(append(b, m.Currency()...))
}

// appendYuan appends fen written in major units with 2 decimals.
func appendYuan(b []byte, fen int64) []byte {
	u := uint64(fen)
	if fen < 0 {
		b = append(b, '-')
		u = -u // unsigned negation is exact even for math.MinInt64
	}
	b = strconv.AppendUint(b, u/100, 10)
	cents := u % 100
	return append(b, '.', byte('0'+cents/10), byte('0'+cents%10))
}

// IsZero reports whether the amount is zero, in any currency.
func (m Money) IsZero() bool { return m.fen == 0 }

// Sign is -1, 0 or +1 as the amount is negative, zero or positive.
func (m Money) Sign() int {
	switch {
	case m.fen < 0:
		return -1
	case m.fen > 0:
		return 1
	}
	return 0
}

// Neg is the amount with its sign flipped. It cannot overflow because the range
// of Money is symmetric.
func (m Money) Neg() Money { return Money{fen: -m.fen, cur: m.cur} }

// Add returns m + o. It fails when the currencies differ or the sum is out of range.
func (m Money) Add(o Money) (Money, error) {
	if err := m.sameCurrency(o, "add"); err != nil {
		return Money{}, err
	}
	if o.fen > 0 && m.fen > MaxFen-o.fen || o.fen < 0 && m.fen < -MaxFen-o.fen {
		return Money{}, errs.E(errs.KindUnprocessable, CodeOverflow, "sum of amounts is out of range")
	}
	return Money{fen: m.fen + o.fen, cur: m.cur}, nil
}

// Sub returns m - o. It fails when the currencies differ or the difference is out of range.
func (m Money) Sub(o Money) (Money, error) {
	if err := m.sameCurrency(o, "subtract"); err != nil {
		return Money{}, err
	}
	return m.Add(o.Neg())
}

// Cmp compares m and o: -1 if m < o, 0 if equal, +1 if m > o. Amounts in
// different currencies have no order, so that is an error.
func (m Money) Cmp(o Money) (int, error) {
	if err := m.sameCurrency(o, "compare"); err != nil {
		return 0, err
	}
	switch {
	case m.fen < o.fen:
		return -1, nil
	case m.fen > o.fen:
		return 1, nil
	}
	return 0, nil
}

func (m Money) sameCurrency(o Money, verb string) error {
	if m.cur == o.cur {
		return nil
	}
	return errs.E(errs.KindUnprocessable, CodeCurrencyMismatch,
		"cannot "+verb+" amounts in "+string(m.Currency())+" and "+string(o.Currency()))
}
