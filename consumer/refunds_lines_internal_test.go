package consumer

import (
	"slices"
	"testing"
)

func TestPointsAreSplitOverLinesByPaidAmountLargestRemainder(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		points int64
		paid   []int64
		want   []int64
	}{
		{100, []int64{3_333, 3_333, 3_334}, []int64{33, 33, 34}},
		{10, []int64{100, 100, 100}, []int64{4, 3, 3}},    // a tie: the lower line first
		{2_500, []int64{100, 150}, []int64{1_000, 1_500}}, // more points than fen: the whole multiples first
		{7, []int64{0, 500}, []int64{0, 7}},               // a line its coupon paid in full earns nothing
		{0, []int64{100}, []int64{0}},
	} {
		if got := splitByPaid(c.points, c.paid); !slices.Equal(got, c.want) {
			t.Errorf("splitByPaid(%d, %v) = %v, want %v", c.points, c.paid, got, c.want)
		}
	}
}

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
