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

func (s *sliced) set(col uint32, v uint64) {
	if v > s.maxValue() {
		v = s.maxValue()
	}
	s.exists.Add(col)
	for i, p := range s.planes {
		if v&(1<<i) != 0 {
			p.Add(col)
		} else {
			p.Remove(col)
		}
	}
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
	if c > s.maxValue() {
		switch op {
		case opLE:
			return s.exists.Clone()
		default:
			return roaring.New()
		}
	}
	gt, lt := roaring.New(), roaring.New()
	eq := s.exists.Clone()
	for i := len(s.planes) - 1; i >= 0; i-- {
		p := s.planes[i]
		if c&(1<<i) != 0 {
			if op == opLE {
				lt.Or(roaring.AndNot(eq, p))
			}
			eq.And(p)
		} else {
			if op == opGE {
				gt.Or(roaring.And(eq, p))
			}
			eq.AndNot(p)
		}
	}
	switch op {
	case opGE:
		gt.Or(eq)
		return gt
	case opLE:
		lt.Or(eq)
		return lt
	default:
		return eq
	}
}

func (s *sliced) runOptimize() {
	s.exists.RunOptimize()
	for _, p := range s.planes {
		p.RunOptimize()
	}
}

func (s *sliced) sizeBytes() uint64 {
	n := s.exists.GetSizeInBytes()
	for _, p := range s.planes {
		n += p.GetSizeInBytes()
	}
	return n
}
