package billing

import "testing"

func TestMilliToFenRoundsHalfEven(t *testing.T) {
	for in, want := range map[int64]int64{40000: 40, 1499: 1, 1500: 2, 2500: 2, 2501: 3, -1560000: -1560, -2500: -2, -3500: -4, 499: 0} {
		if got := milliToFen(in); got != want {
			t.Errorf("milliToFen(%d) = %d, want %d", in, got, want)
		}
	}
}
