package money

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tandemcrm/tandem/shared/errs"
)

// Parse reads an amount written in major units, such as "128.50", "128.5",
// "128", "-3.20" or "0.01", in currency cur.
//
// The grammar is deliberately narrow: an optional leading '-', one or more
// digits, and optionally a '.' followed by one or two digits. Everything else
// is refused: "", "+1", " 1", "1,000", "1e3", "NaN", ".5", "5.", "1.234", and
// any amount beyond ±MaxFen fen. "-0" and "-0.00" are zero.
//
// Errors carry the code CodeInvalidAmount and no field; callers name the field
// with errs.As(err).WithField.
func Parse(amount string, cur Currency) (Money, error) {
	return parseWithPlaces(amount, cur, 2)
}

// ParseYuan is Parse in CNY: the form amounts take in Tandem's API.
func ParseYuan(amount string) (Money, error) {
	return Parse(amount, CNY)
}

// wechatFeePlaces is how many decimals WeChat Pay prints for the 手续费 (fee)
// column of its trade bills: "0.04000", "-1.56000", summary "10.18000".
const wechatFeePlaces = 5

// ParseWeChatFee reads a fee from a WeChat Pay trade bill, which is printed with
// up to 5 decimals ("-1.56000", "0.04000"). Fees are whole fen in every bill we
// have seen, so the digits past the second decimal must be zeros; anything else
// ("0.04500") is an error rather than a silent rounding, because it would mean
// our ledger cannot match WeChat's to the fen. Otherwise the rules are Parse's.
func ParseWeChatFee(amount string, cur Currency) (Money, error) {
	return parseWithPlaces(amount, cur, wechatFeePlaces)
}

func parseWithPlaces(amount string, cur Currency, places int) (Money, error) {
	if err := cur.validate(); err != nil {
		return Money{}, err
	}
	fen, err := parseFen(amount, places)
	if err != nil {
		return Money{}, err
	}
	return newMoney(fen, cur), nil
}

// maxAmountLen bounds the input so that a hostile string costs nothing to
// refuse; the longest valid amount, "-92233720368547758.07", is 21 bytes, and
// the rest is room for leading or trailing zeros.
const maxAmountLen = 64

// parseFen reads a decimal string in major units into fen, allowing up to
// places decimals of which only the first two may be non-zero.
func parseFen(s string, places int) (int64, error) {
	if s == "" {
		return 0, invalidAmount(s, "must not be empty")
	}
	if len(s) > maxAmountLen {
		return 0, invalidAmount(s, fmt.Sprintf("must not be longer than %d characters", maxAmountLen))
	}
	digits, neg := s, false
	if s[0] == '-' {
		digits, neg = s[1:], true
	}
	if digits == "" {
		return 0, invalidAmount(s, "must have digits")
	}
	if err := checkAmountChars(s, digits); err != nil {
		return 0, err
	}
	whole, frac, hasPoint := strings.Cut(digits, ".")
	switch {
	case whole == "":
		return 0, invalidAmount(s, "must have a digit before the decimal point")
	case hasPoint && frac == "":
		return 0, invalidAmount(s, "must have a digit after the decimal point")
	case len(frac) > places:
		return 0, invalidAmount(s, "must not have more than "+strconv.Itoa(places)+" decimal places")
	case len(frac) > 2 && strings.Trim(frac[2:], "0") != "":
		return 0, invalidAmount(s, "must be a whole number of fen: decimals past the second must be 0")
	}
	if len(frac) > 2 {
		frac = frac[:2]
	}

	// The fen count is the whole digits followed by exactly two fraction digits.
	var fen int64
	for _, d := range whole + frac + "00"[len(frac):] {
		digit := int64(d - '0')
		if fen > (MaxFen-digit)/10 {
			return 0, invalidAmount(s, "is out of range")
		}
		fen = fen*10 + digit
	}
	if neg {
		fen = -fen
	}
	return fen, nil
}

// checkAmountChars explains the first character of digits (s without its sign)
// that is neither a digit nor the one decimal point.
func checkAmountChars(s, digits string) error {
	points := 0
	for _, c := range digits {
		switch {
		case '0' <= c && c <= '9':
			continue
		case c == '.':
			if points++; points == 1 {
				continue
			}
			return invalidAmount(s, "must not have more than one decimal point")
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return invalidAmount(s, "must not contain spaces")
		case c == ',':
			return invalidAmount(s, "must not contain thousands separators")
		case c == '+':
			return invalidAmount(s, "must not have a '+' sign")
		case c == '-':
			return invalidAmount(s, "may only have one '-' sign, at the start")
		default:
			return invalidAmount(s, "must be a plain decimal number such as 128.50")
		}
	}
	return nil
}

// invalidAmount is a parse error: the reason is safe to show, the input goes
// into the cause, for the logs.
func invalidAmount(input, reason string) error {
	return errs.Wrap(inputCause("amount", input), errs.KindInvalid, CodeInvalidAmount, "amount "+reason)
}

// inputCause records the input that failed to parse, cut short if it is long.
func inputCause(what, input string) error {
	const clip = 80
	if len(input) > clip {
		input = input[:clip] + "..."
	}
	return fmt.Errorf("parsing %s %q", what, input)
}
