package pg

// PageLimit is the LIMIT of a page of a list: 50 when n is not positive, at most 200.
func PageLimit(n int) int32 {
	switch {
	case n <= 0:
		return 50
	case n > 200:
		return 200
	}
	return int32(n)
}
