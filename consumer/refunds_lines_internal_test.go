package consumer

import (
	"testing"
)

// A line refunded in pieces, in any order of events, gives back exactly its points;
// each piece its own share, rounded so the line keeps the rounded-down share of
// what is left of it.
func TestARefundTakesBackItsLinesShare(t *testing.T) {
	t.Parallel()
	// 150 points over lines paid 100.00 and 50.00: 100 and 50.
	paid := []int64{10_000, 5_000}
	pieces := []struct {
		line      int // index
		fen, want int64
	}{{1, 2_000, 20}, {0, 3_333, 34}, {1, 3_000, 30}, {0, 6_667, 66}}
	total := []int64{0, 0}
	var sum int64
	for _, p := range pieces {
		total[p.line] += p.fen
		lines := []RefundLine{{LineNo: 2, PaidFen: paid[1], RefundedTotalFen: total[1]}, {LineNo: 1, PaidFen: paid[0], RefundedTotalFen: total[0]}}
		lines[1-p.line].RefundFen = p.fen
		got := refundedLinesShare(150, lines)
		if got != p.want {
			t.Fatalf("refund of %d fen of line %d takes back %d, want %d", p.fen, p.line+1, got, p.want)
		}
		sum += got
	}
	if sum != 150 {
		t.Fatalf("the pieces took back %d of 150", sum)
	}
}
