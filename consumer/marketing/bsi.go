package marketing

import "github.com/RoaringBitmap/roaring/v2"

// sliced is a bit-sliced index of a non-negative integer attribute: bit plane i
// holds the members whose value has bit i set. A range query is a fixed number of
// bitmap operations (two per plane, O'Neil and Quass), whatever the number of
// members or of distinct values, which is what keeps "ordered in the last N days"
// or "points ≥ 1000" within the live count's budget over ten million members.
type sliced struct {
	planes []*roaring.Bitmap
	exists *roaring.Bitmap
}

func newSliced(bits int) *sliced {
	s := &sliced{planes: make([]*roaring.Bitmap, bits), exists: roaring.New()}
	for i := range s.planes {
		s.planes[i] = roaring.New()
	}
	return s
}

// maxValue is the largest value the index holds; larger ones are clamped.
func (s *sliced) maxValue() uint64 { return 1<<len(s.planes) - 1 }

// setFresh sets a value of a member the index has no value for: only the planes of
// its set bits change.
func (s *sliced) setFresh(col uint32, v uint64) {
	if v > s.maxValue() {
		v = s.maxValue()
	}
	s.exists.Add(col)
	for i := 0; v != 0; i, v = i+1, v>>1 {
		if v&1 != 0 {
			s.planes[i].Add(col)
		}
	}
}

// value is a member's value; the member must have one.
func (s *sliced) value(col uint32) uint64 {
	var v uint64
	for i, p := range s.planes {
		if p.Contains(col) {
			v |= 1 << i
		}
	}
	return v
}

func (s *sliced) clear(col uint32) {
	s.exists.Remove(col)
	for _, p := range s.planes {
		p.Remove(col)
	}
}

// cmpOp is a comparison of a sliced attribute with a constant.
type cmpOp uint8

const (
	opEQ cmpOp = iota
	opGE
	opLE
)

// compare returns the members with a value that compares to c as op says.
func (s *sliced) compare(op cmpOp, c uint64) *roaring.Bitmap {
	switch op {
	case opGE:
		return s.atLeast(c)
	case opLE:
		if c >= s.maxValue() {
			return s.exists.Clone()
		}
		le := s.exists.Clone()
		le.AndNot(s.atLeast(c + 1))
		return le
	}
	if c > s.maxValue() {
		return roaring.New()
	}
	eq := s.exists.Clone()
	for i, p := range s.planes {
		if c&(1<<i) != 0 {
			eq.And(p)
		} else {
			eq.AndNot(p)
		}
	}
	return eq
}

// atLeast is the members with a value ≥ c, one in-place operation per plane from
// the lowest: with S the members whose low k bits are ≥ c's low k bits,
// S(k) = P(k) ∩ S(k-1) where c has bit k set, P(k) ∪ S(k-1) where it has not, and
// S(-1) = everyone. Below c's lowest set bit S is everyone, so it starts there.
func (s *sliced) atLeast(c uint64) *roaring.Bitmap {
	if c == 0 {
		return s.exists.Clone()
	}
	if c > s.maxValue() {
		return roaring.New()
	}
	low := 0
	for c&(1<<low) == 0 {
		low++
	}
	ge := s.planes[low].Clone()
	for i := low + 1; i < len(s.planes); i++ {
		if c&(1<<i) != 0 {
			ge.And(s.planes[i])
		} else {
			ge.Or(s.planes[i])
		}
	}
	ge.And(s.exists)
	return ge
}

func (s *sliced) sizeBytes() uint64 {
	n := s.exists.GetSizeInBytes()
	for _, p := range s.planes {
		n += p.GetSizeInBytes()
	}
	return n
}
