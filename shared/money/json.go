package money

import (
	"bytes"
	"encoding/json"

	"github.com/tandemcrm/tandem/shared/errs"
)

// moneyJSON is Money on the wire: {"amount":"128.50","currency":"CNY"}. The
// amount is a string, never a JSON number, so no client parses it into a float.
type moneyJSON struct {
	Amount   string   `json:"amount"`
	Currency Currency `json:"currency"`
}

// MarshalJSON writes {"amount":"128.50","currency":"CNY"}: the amount in major
// units with exactly 2 decimals, as a string, and the currency code, always present.
func (m Money) MarshalJSON() ([]byte, error) {
	return json.Marshal(moneyJSON{Amount: m.String(), Currency: m.Currency()})
}

// UnmarshalJSON reads {"amount":"128.50","currency":"CNY"} with Parse's rules.
// The currency may be left out, meaning CNY; the amount may not, and must be a
// string ({"amount":128.5} is refused). Unknown keys are refused so that a typo
// ("ammount") is not read as a missing field. A JSON null leaves m unchanged,
// as encoding/json does for other types.
func (m *Money) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	var wire struct {
		Amount   *string `json:"amount"`
		Currency *string `json:"currency"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wire); err != nil {
		return errs.Wrap(err, errs.KindInvalid, CodeInvalidAmount,
			`money must be an object such as {"amount":"128.50","currency":"CNY"}`)
	}
	if wire.Amount == nil {
		return errs.E(errs.KindInvalid, CodeInvalidAmount, "amount is missing")
	}
	cur := CNY
	if wire.Currency != nil {
		var err error
		if cur, err = ParseCurrency(*wire.Currency); err != nil {
			return err
		}
	}
	parsed, err := Parse(*wire.Amount, cur)
	if err != nil {
		return err
	}
	*m = parsed
	return nil
}
