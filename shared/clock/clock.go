// Package clock is the one source of time for every domain. In production it is the
// system clock; `tandem dev` and the tests use a Settable clock, so a month of activity
// can be replayed, a demo can move to tomorrow, and a job due in 30 days can be tested
// today. Business days are Asia/Shanghai calendar days (Shanghai, Day).
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// System is the machine's clock.
type System struct{}

// Now is time.Now.
func (System) Now() time.Time { return time.Now() }

// Func adapts a function to a Clock.
type Func func() time.Time

// Now calls f.
func (f Func) Now() time.Time { return f() }

// Settable runs with the machine's clock, shifted by an offset that Set and Advance
// change; Freeze stops it at an instant (tests that assert exact times).
type Settable struct {
	mu     sync.RWMutex
	offset time.Duration
	frozen *time.Time
}

// NewSettable returns a clock that starts at the machine's time.
func NewSettable() *Settable { return &Settable{} }

// Now is the machine's time plus the offset, or the frozen instant.
func (c *Settable) Now() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.frozen != nil {
		return *c.frozen
	}
	return time.Now().Add(c.offset)
}

// Set moves the clock to t; it runs on from there.
func (c *Settable) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = time.Until(t)
	if c.frozen != nil {
		c.frozen = &t
	}
}

// Advance moves the clock forward by d (backward when d < 0).
func (c *Settable) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	if c.frozen != nil {
		t := c.frozen.Add(d)
		c.frozen = &t
	}
}

// Freeze stops the clock at t until Unfreeze.
func (c *Settable) Freeze(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frozen = &t
}

// Unfreeze lets a frozen clock run again from where it stood.
func (c *Settable) Unfreeze() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		c.offset = time.Until(*c.frozen)
		c.frozen = nil
	}
}

// Reset returns the clock to the machine's time, running.
func (c *Settable) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset, c.frozen = 0, nil
}

// Shanghai is the zone of business days (bill dates, settlement, reports, reclaim days).
var Shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

// Day is the Asia/Shanghai calendar day of t, at its midnight.
func Day(t time.Time) time.Time {
	y, m, d := t.In(Shanghai).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, Shanghai)
}
