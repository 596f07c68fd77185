package wxsim

import (
	"time"

	"github.com/tandemcrm/tandem/shared/clock"
)

// shanghai is WeChat's business zone (bill days, timestamps in bodies). China
// has no daylight saving, so a fixed offset is exact.
var shanghai = clock.Shanghai

// Clock is the simulator's business time: payment and refund times, bill days,
// STATEMENT_CREATING and the life of download URLs. Signature timestamps always
// use the real time, because the other side checks them against its own clock.
// It is the platform's one settable clock (shared/clock): `tandem dev` gives the
// simulator and every domain the same one, so /sim/clock moves both sides' business
// time together.
type Clock struct{ *clock.Settable }

// Set moves the clock to t; frozen clocks stay there until moved again.
func (c Clock) Set(t time.Time, frozen bool) {
	if frozen {
		c.Freeze(t)
		return
	}
	c.Unfreeze()
	c.Settable.Set(t)
}

// Reset returns to real time.
func (c Clock) Reset() { c.Settable.Reset() }
