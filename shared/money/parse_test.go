package money_test

import (
	"math"
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/money"
)

func TestParseYuanValid(t *testing.T) {
	tests := []struct {
		in  string
		fen int64
	}{
		{"128.50", 12850},
		{"128.5", 12850},
		{"128", 12800},
		{"-3.20", -320},
		{"0.01", 1},
		{"-0.05", -5},
		{"0", 0},
		{"-0", 0},
		{"-0.00", 0},
		{"0.1", 10},
		{"007.50", 750},
		{"92233720368547758.07", math.MaxInt64},
		{"-92233720368547758.07", -math.MaxInt64},
	}
	for _, tt := range tests {
		m, err := money.ParseYuan(tt.in)
		if err != nil {
			t.Errorf("ParseYuan(%q): %v", tt.in, err)
			continue
		}
		if m.Fen() != tt.fen || m.Currency() != money.CNY {
			t.Errorf("ParseYuan(%q) = %d %s, want %d CNY", tt.in, m.Fen(), m.Currency(), tt.fen)
		}
	}
}

func TestParseYuanInvalid(t *testing.T) {
	tests := []struct {
		in         string
		wantReason string // part of the safe message
	}{
		{"", "empty"},
		{"-", "digits"},
		{"1.234", "more than 2 decimal places"},
		{"1.230", "more than 2 decimal places"},
		{"+1.00", "'+'"},
		{"+", "'+'"},
		{" 1.00", "spaces"},
		{"1.00 ", "spaces"},
		{"1 000.00", "spaces"},
		{"\t1", "spaces"},
		{"1,000.00", "thousands separators"},
		{"1,5", "thousands separators"},
		{"1e3", "plain decimal"},
		{"1E3", "plain decimal"},
		{"1.5e2", "plain decimal"},
		{"NaN", "plain decimal"},
		{"Inf", "plain decimal"},
		{"-Inf", "plain decimal"},
		{"0x10", "plain decimal"},
		{"¥1.00", "plain decimal"},
		{"１２", "plain decimal"}, // full-width digits
		{".5", "before the decimal point"},
		{"-.5", "before the decimal point"},
		{"5.", "after the decimal point"},
		{"1.2.3", "more than one decimal point"},
		{"--1", "'-' sign"},
		{"1-", "'-' sign"},
		{"92233720368547758.08", "out of range"},
		{"-92233720368547758.08", "out of range"}, // math.MinInt64 fen is outside the symmetric range
		{"100000000000000000", "out of range"},
		{"99999999999999999999999", "out of range"},
		{strings.Repeat("1", 65), "longer than"},
	}
	for _, tt := range tests {
		_, err := money.ParseYuan(tt.in)
		e := errs.As(err)
		if e == nil {
			t.Errorf("ParseYuan(%q) = nil error, want one", tt.in)
			continue
		}
		if e.Code != money.CodeInvalidAmount || e.Kind != errs.KindInvalid || e.Field != "" {
			t.Errorf("ParseYuan(%q) error = %+v, want code %s, kind invalid, no field", tt.in, e, money.CodeInvalidAmount)
		}
		if !strings.Contains(e.Message, tt.wantReason) {
			t.Errorf("ParseYuan(%q) message = %q, want it to mention %q", tt.in, e.Message, tt.wantReason)
		}
	}
}

func TestParseErrorTakesAField(t *testing.T) {
	_, err := money.ParseYuan("1.234")
	withField := errs.As(err).WithField("items[2].price")
	if withField.Field != "items[2].price" || withField.Code != money.CodeInvalidAmount {
		t.Fatalf("WithField = %+v", withField)
	}
	if !strings.Contains(err.Error(), `"1.234"`) {
		t.Errorf("the logged error %q should show the input", err.Error())
	}
}

func TestParseOtherCurrency(t *testing.T) {
	m, err := money.Parse("19.99", "USD")
	if err != nil || m != money.MustNew(1999, "USD") {
		t.Fatalf("Parse(19.99, USD) = %v, %v", m, err)
	}
	_, err = money.Parse("100", "JPY")
	wantCode(t, err, money.CodeInvalidCurrency)
	_, err = money.Parse("100", "")
	wantCode(t, err, money.CodeInvalidCurrency)
}

func TestParseWeChatFee(t *testing.T) {
	valid := []struct {
		in  string
		fen int64
	}{
		{"-1.56000", -156},
		{"0.04000", 4},
		{"10.18000", 1018},
		{"0.00000", 0},
		{"0.04", 4},
		{"0.040", 4},
		{"3", 300},
	}
	for _, tt := range valid {
		m, err := money.ParseWeChatFee(tt.in, money.CNY)
		if err != nil || m.Fen() != tt.fen {
			t.Errorf("ParseWeChatFee(%q) = %v, %v, want %d fen", tt.in, m, err, tt.fen)
		}
	}
	invalid := []struct{ in, wantReason string }{
		{"0.04500", "whole number of fen"},
		{"-1.56001", "whole number of fen"},
		{"0.001", "whole number of fen"},
		{"0.040000", "more than 5 decimal places"},
		{"`0.04000", "plain decimal"}, // the bill's backtick prefix is the CSV reader's to strip
		{"", "empty"},
		{"+0.04000", "'+'"},
		{"1e-2", "plain decimal"},
	}
	for _, tt := range invalid {
		_, err := money.ParseWeChatFee(tt.in, money.CNY)
		wantCode(t, err, money.CodeInvalidAmount)
		if msg := errs.As(err).Message; !strings.Contains(msg, tt.wantReason) {
			t.Errorf("ParseWeChatFee(%q) message = %q, want it to mention %q", tt.in, msg, tt.wantReason)
		}
	}
}
