package marketing

import "time"

// RFM scores, 1 (worst) to 5 (best), on fixed thresholds a growth team reads at a
// glance (days since the last order, orders, spend in yuan) rather than on quintiles
// that move every night; the thresholds are the cut points below.
var (
	rfmRecencyDays = [4]float64{180, 90, 30, 7} // > 180 days: 1 ... ≤ 7 days: 5
	rfmFrequency   = [4]int64{2, 3, 5, 10}      // 1 order: 1 ... ≥ 10: 5
	rfmMonetary    = [4]int64{50, 150, 400, 1000}
)

// rfmScore scores a member; a member who never ordered has no score (zeros).
func rfmScore(now time.Time, last *time.Time, orders, spendFen int64) [3]int16 {
	if last == nil || orders == 0 {
		return [3]int16{}
	}
	days := now.Sub(*last).Hours() / 24
	r := int16(1)
	for _, d := range rfmRecencyDays {
		if days <= d {
			r++
		}
	}
	f := int16(1)
	for _, n := range rfmFrequency {
		if orders >= n {
			f++
		}
	}
	m := int16(1)
	for _, y := range rfmMonetary {
		if spendFen/100 >= y {
			m++
		}
	}
	return [3]int16{r, f, m}
}
