package billing

import (
	"fmt"
	"slices"

	"github.com/tandemcrm/tandem/shared/errs"
)

// State is an order's position in the payment state machine.
type State string

const (
	StateCreated           State = "created"
	StatePaying            State = "paying" // a prepay was made
	StatePaid              State = "paid"
	StatePartiallyRefunded State = "partially_refunded"
	StateRefunded          State = "refunded"
	StateClosed            State = "closed"
)

// transitions is the whole machine: anything not listed is illegal.
var transitions = map[State][]State{
	StateCreated:           {StatePaying, StateClosed},
	StatePaying:            {StatePaid, StateClosed},
	StatePaid:              {StatePartiallyRefunded, StateRefunded},
	StatePartiallyRefunded: {StatePartiallyRefunded, StateRefunded},
}

// CanMove reports whether the machine allows from → to.
func CanMove(from, to State) bool { return slices.Contains(transitions[from], to) }

// Paid reports whether the order's money arrived (refunds included).
func (s State) Paid() bool {
	return s == StatePaid || s == StatePartiallyRefunded || s == StateRefunded
}

func illegal(from, to State) error {
	return errs.E(errs.KindConflict, CodeIllegalTransition, fmt.Sprintf("an order cannot go from %s to %s", from, to))
}
