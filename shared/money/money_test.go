package money_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/money"
)

// yuan parses a CNY amount that the test knows to be valid.
func yuan(t testing.TB, s string) money.Money {
	t.Helper()
	m, err := money.ParseYuan(s)
	if err != nil {
		t.Fatalf("ParseYuan(%q): %v", s, err)
	}
	return m
}

// wantCode fails the test unless err carries the given errs code.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if !errs.Is(err, code) {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

func TestZeroValueIsZeroCNY(t *testing.T) {
	var zero money.Money
	if zero.Currency() != money.CNY || zero.Fen() != 0 || zero.String() != "0.00" {
		t.Fatalf("zero value = %s %d %q, want CNY 0 \"0.00\"", zero.Currency(), zero.Fen(), zero.String())
	}
	if zero != yuan(t, "0.00") || zero != yuan(t, "-0") || zero != money.MustNew(0, money.CNY) {
		t.Fatal("zero value must equal a parsed or constructed 0.00 CNY under ==")
	}
	if zero == money.MustNew(0, "USD") {
		t.Fatal("0.00 CNY must not equal 0.00 USD")
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		fen      int64
		cur      money.Currency
		wantCode string
	}{
		{fen: 12850, cur: "CNY"},
		{fen: -5, cur: "USD"},
		{fen: math.MaxInt64, cur: "HKD"},
		{fen: -math.MaxInt64, cur: "EUR"},
		{fen: math.MinInt64, cur: "CNY", wantCode: money.CodeOverflow},
		{fen: 1, cur: "", wantCode: money.CodeInvalidCurrency},
		{fen: 1, cur: "cny", wantCode: money.CodeInvalidCurrency},
		{fen: 1, cur: "JPY", wantCode: money.CodeInvalidCurrency},
	}
	for _, tt := range tests {
		m, err := money.New(tt.fen, tt.cur)
		if tt.wantCode != "" {
			wantCode(t, err, tt.wantCode)
			continue
		}
		if err != nil {
			t.Fatalf("New(%d, %q): %v", tt.fen, tt.cur, err)
		}
		if m.Fen() != tt.fen || m.Currency() != tt.cur {
			t.Errorf("New(%d, %q) = %d %s", tt.fen, tt.cur, m.Fen(), m.Currency())
		}
	}
}

func TestMustNewPanicsOnInvalid(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("MustNew with an invalid currency did not panic")
		}
	}()
	money.MustNew(1, "XAU")
}

func TestParseCurrency(t *testing.T) {
	for _, ok := range []string{"CNY", "USD", "HKD", "EUR", "GBP", "SGD"} {
		if c, err := money.ParseCurrency(ok); err != nil || string(c) != ok {
			t.Errorf("ParseCurrency(%q) = %q, %v", ok, c, err)
		}
	}
	bad := []string{"", "CN", "CNYY", "cny", "Cny", "C1Y", " CNY", "ÇNY",
		"JPY", "KRW", "VND", "KWD", "BHD", "TND", "CLF", "XAU", "XXX"}
	for _, s := range bad {
		_, err := money.ParseCurrency(s)
		wantCode(t, err, money.CodeInvalidCurrency)
		if errs.KindOf(err) != errs.KindInvalid {
			t.Errorf("ParseCurrency(%q) kind = %v, want invalid", s, errs.KindOf(err))
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		fen  int64
		want string
	}{
		{0, "0.00"},
		{1, "0.01"},
		{10, "0.10"},
		{-5, "-0.05"},
		{-320, "-3.20"},
		{12850, "128.50"},
		{12800, "128.00"},
		{math.MaxInt64, "92233720368547758.07"},
		{-math.MaxInt64, "-92233720368547758.07"},
	}
	for _, tt := range tests {
		m := money.MustNew(tt.fen, money.CNY)
		if got := m.String(); got != tt.want {
			t.Errorf("String(%d) = %q, want %q", tt.fen, got, tt.want)
		}
		if got, want := m.StringWithCurrency(), tt.want+" CNY"; got != want {
			t.Errorf("StringWithCurrency(%d) = %q, want %q", tt.fen, got, want)
		}
	}
	if got := money.MustNew(-1999, "USD").StringWithCurrency(); got != "-19.99 USD" {
		t.Errorf("StringWithCurrency = %q, want -19.99 USD", got)
	}
}

func TestArithmetic(t *testing.T) {
	a, b := yuan(t, "128.50"), yuan(t, "-3.20")
	sum, err := a.Add(b)
	if err != nil || sum != yuan(t, "125.30") {
		t.Errorf("128.50 + -3.20 = %v, %v", sum, err)
	}
	diff, err := a.Sub(b)
	if err != nil || diff != yuan(t, "131.70") {
		t.Errorf("128.50 - -3.20 = %v, %v", diff, err)
	}
	if a.Neg() != yuan(t, "-128.50") || b.Neg() != yuan(t, "3.20") || (money.Money{}).Neg() != (money.Money{}) {
		t.Error("Neg flips the sign, and -0 is 0")
	}
	for _, tt := range []struct {
		x, y string
		want int
	}{{"1.00", "2.00", -1}, {"2.00", "1.00", 1}, {"-1.00", "-1", 0}, {"-0.01", "0", -1}} {
		if got, err := yuan(t, tt.x).Cmp(yuan(t, tt.y)); err != nil || got != tt.want {
			t.Errorf("Cmp(%s, %s) = %d, %v, want %d", tt.x, tt.y, got, err, tt.want)
		}
	}
	if !yuan(t, "0").IsZero() || yuan(t, "0.01").IsZero() {
		t.Error("IsZero")
	}
	if yuan(t, "-0.01").Sign() != -1 || yuan(t, "0").Sign() != 0 || yuan(t, "0.01").Sign() != 1 {
		t.Error("Sign")
	}
}

func TestArithmeticCurrencyMismatch(t *testing.T) {
	cny, usd := yuan(t, "1.00"), money.MustNew(100, "USD")
	_, err := cny.Add(usd)
	wantCode(t, err, money.CodeCurrencyMismatch)
	_, err = cny.Sub(usd)
	wantCode(t, err, money.CodeCurrencyMismatch)
	_, err = usd.Cmp(cny)
	wantCode(t, err, money.CodeCurrencyMismatch)
	if errs.KindOf(err) != errs.KindUnprocessable {
		t.Errorf("mismatch kind = %v, want unprocessable", errs.KindOf(err))
	}
}

func TestArithmeticOverflow(t *testing.T) {
	maxM := money.MustNew(math.MaxInt64, money.CNY)
	minM := maxM.Neg()
	one := yuan(t, "0.01")
	tests := []struct {
		name string
		op   func() (money.Money, error)
		want money.Money
		code string
	}{
		{"max+1", func() (money.Money, error) { return maxM.Add(one) }, money.Money{}, money.CodeOverflow},
		{"min-1", func() (money.Money, error) { return minM.Sub(one) }, money.Money{}, money.CodeOverflow},
		{"min+(-1)", func() (money.Money, error) { return minM.Add(one.Neg()) }, money.Money{}, money.CodeOverflow},
		{"max-(-1)", func() (money.Money, error) { return maxM.Sub(one.Neg()) }, money.Money{}, money.CodeOverflow},
		{"min-max", func() (money.Money, error) { return minM.Sub(maxM) }, money.Money{}, money.CodeOverflow},
		{"max+min", func() (money.Money, error) { return maxM.Add(minM) }, money.Money{}, ""},
		{"max-max", func() (money.Money, error) { return maxM.Sub(maxM) }, money.Money{}, ""},
		{"min+1", func() (money.Money, error) { return minM.Add(one) }, money.MustNew(-math.MaxInt64+1, money.CNY), ""},
	}
	for _, tt := range tests {
		got, err := tt.op()
		if tt.code != "" {
			wantCode(t, err, tt.code)
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s = %v, %v, want %v", tt.name, got, err, tt.want)
		}
	}
}

func TestMarshalJSON(t *testing.T) {
	type order struct {
		Total  money.Money  `json:"total"`
		Refund *money.Money `json:"refund,omitempty"`
	}
	refund := yuan(t, "-0.05")
	got, err := json.Marshal(order{Total: yuan(t, "128.5"), Refund: &refund})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"total":{"amount":"128.50","currency":"CNY"},"refund":{"amount":"-0.05","currency":"CNY"}}`
	if string(got) != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	got, _ = json.Marshal(money.MustNew(100, "USD"))
	if string(got) != `{"amount":"1.00","currency":"USD"}` {
		t.Errorf("Marshal USD = %s", got)
	}
}

func TestUnmarshalJSON(t *testing.T) {
	tests := []struct {
		in   string
		want money.Money
		code string
	}{
		{in: `{"amount":"128.50","currency":"CNY"}`, want: money.MustNew(12850, money.CNY)},
		{in: `{"currency":"USD","amount":"-3.2"}`, want: money.MustNew(-320, "USD")},
		{in: `{"amount":"0.01"}`, want: money.MustNew(1, money.CNY)},
		{in: ` { "amount" : "7" } `, want: money.MustNew(700, money.CNY)},
		{in: `{"amount":128.5,"currency":"CNY"}`, code: money.CodeInvalidAmount},
		{in: `{"amount":"1.234","currency":"CNY"}`, code: money.CodeInvalidAmount},
		{in: `{"currency":"CNY"}`, code: money.CodeInvalidAmount},
		{in: `{"amount":null}`, code: money.CodeInvalidAmount},
		{in: `{"ammount":"1.00"}`, code: money.CodeInvalidAmount},
		{in: `"128.50"`, code: money.CodeInvalidAmount},
		{in: `128.50`, code: money.CodeInvalidAmount},
		{in: `{"amount":"1.00","currency":"JPY"}`, code: money.CodeInvalidCurrency},
		{in: `{"amount":"1.00","currency":""}`, code: money.CodeInvalidCurrency},
	}
	for _, tt := range tests {
		var got money.Money
		err := json.Unmarshal([]byte(tt.in), &got)
		if tt.code != "" {
			wantCode(t, err, tt.code)
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Unmarshal(%s) = %v, %v, want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestUnmarshalJSONNullLeavesValue(t *testing.T) {
	m := yuan(t, "5.00")
	if err := json.Unmarshal([]byte(`null`), &m); err != nil || m != yuan(t, "5.00") {
		t.Fatalf("Unmarshal(null) = %v, %v; want unchanged 5.00", m, err)
	}
	var p struct{ Fee *money.Money }
	if err := json.Unmarshal([]byte(`{"Fee":null}`), &p); err != nil || p.Fee != nil {
		t.Fatalf("null into *Money = %v, %v; want nil", p.Fee, err)
	}
}
