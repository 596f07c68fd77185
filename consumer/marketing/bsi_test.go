package marketing

import (
	"math/rand/v2"
	"testing"
)

// Range queries on the sliced index agree with comparing the values one by one.
func TestSlicedCompareAgreesWithValues(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	s := newSliced(10)
	values := map[uint32]uint64{}
	for col := range uint32(5000) {
		if r.IntN(10) == 0 {
			continue // no value
		}
		v := uint64(r.IntN(1100)) // some above the maximum: clamped
		s.setFresh(col, v)
		values[col] = min(v, s.maxValue())
	}
	for _, c := range []uint64{0, 1, 2, 7, 8, 512, 513, 700, 1022, 1023, 1024, 5000} {
		for _, op := range []cmpOp{opEQ, opGE, opLE} {
			got := s.compare(op, c)
			want := 0
			for col, v := range values {
				in := (op == opEQ && v == c) || (op == opGE && v >= c) || (op == opLE && v <= c)
				if in {
					want++
				}
				if in != got.Contains(col) {
					t.Fatalf("op %d c %d: member %d with %d: got %v", op, c, col, v, got.Contains(col))
				}
			}
			if int(got.GetCardinality()) != want {
				t.Fatalf("op %d c %d: %d members, want %d", op, c, got.GetCardinality(), want)
			}
		}
	}
}
