//go:build !linux

package reconciliation

// offHeap returns n zeroed values of T (on the heap where huge pages are not asked for).
func offHeap[T any](n int) (s []T, free func()) { return make([]T, n), func() {} }
