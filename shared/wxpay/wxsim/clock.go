package wxsim

import (
	"sync"
	"time"
)

// shanghai is WeChat's business zone (bill days, timestamps in bodies). China
// has no daylight saving, so a fixed offset is exact.
var shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

// Clock is the simulator's business time: payment and refund times, bill days,
// STATEMENT_CREATING and the life of download URLs. Signature timestamps always
// use the real time, because the other side checks them against its own clock.
type Clock struct {
	mu     sync.Mutex
	frozen bool
	at     time.Time     // when frozen
	offset time.Duration // when running
}

// Now is the simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return c.at
	}
	return time.Now().Add(c.offset)
}

// Set moves the clock to t; frozen clocks stay there until moved again.
func (c *Clock) Set(t time.Time, frozen bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frozen, c.at, c.offset = frozen, t, time.Until(t)
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
	c.offset += d
}

// Reset returns to real time.
func (c *Clock) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frozen, c.offset = false, 0
}
