package money

import "github.com/tandemcrm/tandem/shared/errs"

// Currency is an ISO 4217 alphabetic code such as "CNY".
type Currency string

// CNY is the Chinese yuan (renminbi), Tandem's default currency: amounts whose
// currency is not given are in CNY.
const CNY Currency = "CNY"

// notTwoDecimals lists the ISO 4217 codes whose minor unit is not 2 decimal
// places (ISO 4217 list one, 2024): 0 decimals, 3 decimals, 4 decimals, and
// funds or metals with no minor unit at all. Money assumes 100 fen to the unit,
// so these are refused by name instead of being scaled wrongly.
var notTwoDecimals = map[Currency]bool{
	// 0 decimals
	"BIF": true, "CLP": true, "DJF": true, "GNF": true, "ISK": true, "JPY": true,
	"KMF": true, "KRW": true, "PYG": true, "RWF": true, "UGX": true, "UYI": true,
	"VND": true, "VUV": true, "XAF": true, "XOF": true, "XPF": true,
	// 3 decimals
	"BHD": true, "IQD": true, "JOD": true, "KWD": true, "LYD": true, "OMR": true, "TND": true,
	// 4 decimals
	"CLF": true, "UYW": true,
	// no minor unit
	"XAG": true, "XAU": true, "XBA": true, "XBB": true, "XBC": true, "XBD": true,
	"XDR": true, "XPD": true, "XPT": true, "XSU": true, "XTS": true, "XUA": true, "XXX": true,
}

// ParseCurrency checks that s is three upper-case ASCII letters naming a
// currency with 2 decimal places, and returns it as a Currency.
func ParseCurrency(s string) (Currency, error) {
	c := Currency(s)
	if err := c.validate(); err != nil {
		return "", err
	}
	return c, nil
}

func (c Currency) validate() error {
	if len(c) != 3 || !isUpper(c[0]) || !isUpper(c[1]) || !isUpper(c[2]) {
		return errs.E(errs.KindInvalid, CodeInvalidCurrency,
			"currency must be an ISO 4217 code of three upper-case letters, such as CNY")
	}
	if notTwoDecimals[c] {
		return errs.E(errs.KindInvalid, CodeInvalidCurrency,
			"currency "+string(c)+" does not have 2 decimal places, which Tandem does not support")
	}
	return nil
}

func isUpper(b byte) bool { return 'A' <= b && b <= 'Z' }
