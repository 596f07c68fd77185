// Package phone is Tandem's one reading of a phone number, for identity, merchant and
// consumer alike: any common way of writing a Chinese mobile or landline ("+86 21 6288
// 0000", "021-6288-0000", "02162880000"; "138 0013 8000", "+86-138-0013-8000",
// "8613800138000") is read to one E.164 string ("+862162880000", "+8613800138000"),
// which is what is stored and compared, so the same shop or person is never two.
// Numbers are checked against the number plan (libphonenumber's metadata, through
// github.com/nyaruka/phonenumbers): "12345" is refused, naming the field.
package phone

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/tandemcrm/tandem/shared/errs"
)

// CodeInvalid: the input is not a phone number in service.
const CodeInvalid = "phone.invalid"

// DefaultRegion is the country of a number written without a country code.
const DefaultRegion = "CN"

// maxInput bounds what is handed to the parser; the longest sensible spelling of an
// international number with separators is well under it.
const maxInput = 32

// Normalize reads s, written in any common form, and returns it in E.164. A number
// without a country code is Chinese; "86" before a Chinese mobile is the country
// code. field names the input in the error (code CodeInvalid, kind invalid).
func Normalize(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxInput {
		return "", invalid(field, s)
	}
	n, err := phonenumbers.Parse(s, DefaultRegion)
	if err == nil && !phonenumbers.IsValidNumber(n) && n.GetCountryCode() == 86 && strings.HasPrefix(digits(s), "86") {
		// "8613800138000": the 86 is the country code written without '+' or "00",
		// which the parser reads as part of a national number.
		n, err = phonenumbers.Parse("+"+digits(s), DefaultRegion)
	}
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", invalid(field, s)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// Mask shows a stored number without its middle digits, in the form people write it
// at home: a Chinese mobile "138****8000", a landline "021****0000", a number of
// another country "+44 ******0018". Something that is not a number (a value stored
// before numbers were normalised) keeps only its last two characters.
func Mask(stored string) string {
	if stored == "" {
		return ""
	}
	n, err := phonenumbers.Parse(stored, DefaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		r := []rune(stored)
		if len(r) <= 2 {
			return strings.Repeat("*", len(r))
		}
		return strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
	}
	national := digits(phonenumbers.Format(n, phonenumbers.NATIONAL))
	if n.GetCountryCode() == 86 {
		return middle(national)
	}
	return "+" + strconv.Itoa(int(n.GetCountryCode())) + " " + middle(phonenumbers.GetNationalSignificantNumber(n))
}

// middle keeps the first three and last four digits of a number of eleven or more,
// and the last four of a shorter one.
func middle(d string) string {
	switch {
	case len(d) >= 11:
		return d[:3] + strings.Repeat("*", len(d)-7) + d[len(d)-4:]
	case len(d) > 4:
		return strings.Repeat("*", len(d)-4) + d[len(d)-4:]
	}
	return strings.Repeat("*", len(d))
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func invalid(field, s string) error {
	return &errs.Error{Kind: errs.KindInvalid, Code: CodeInvalid, Field: field,
		Message: field + " is not a phone number: write a mobile (138 0013 8000) or a landline with its area code (021 6288 0000), with +country code for numbers outside China"}
}
