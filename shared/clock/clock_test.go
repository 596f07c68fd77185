package clock

import (
	"testing"
	"time"
)

func TestSettableAdvanceAndFreeze(t *testing.T) {
	c := NewSettable()
	start := time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC)
	c.Freeze(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("frozen Now = %v, want %v", got, start)
	}
	c.Advance(30 * 24 * time.Hour)
	if got, want := c.Now(), start.Add(30*24*time.Hour); !got.Equal(want) {
		t.Fatalf("after Advance Now = %v, want %v", got, want)
	}
	c.Unfreeze()
	if d := c.Now().Sub(start.Add(30 * 24 * time.Hour)); d < 0 || d > time.Minute {
		t.Fatalf("unfrozen clock is %v away from where it stood", d)
	}
	c.Set(time.Now().Add(48 * time.Hour))
	if d := time.Until(c.Now()); d < 47*time.Hour || d > 49*time.Hour {
		t.Fatalf("Set two days ahead: clock is %v ahead", d)
	}
}

func TestDayIsShanghaiCalendarDay(t *testing.T) {
	// 2026-03-01 17:30 UTC is 2026-03-02 01:30 in Shanghai.
	got := Day(time.Date(2026, 3, 1, 17, 30, 0, 0, time.UTC))
	if got.Year() != 2026 || got.Month() != 3 || got.Day() != 2 || got.Hour() != 0 {
		t.Fatalf("Day = %v, want 2026-03-02 00:00 +08", got)
	}
}
