//go:build linux

package reconciliation

import (
	"syscall"
	"unsafe"
)

// hugePage is the size of a transparent huge page on x86-64 and arm64 (4K base pages).
const hugePage = 2 << 20

// offHeap returns n zeroed values of a pointer-free T outside the Go heap, on
// transparent huge pages where the kernel grants them (madvise mode): the index of
// our records is probed at random, and with 4K pages nearly every probe of a large
// index misses the TLB as well as the cache. free unmaps it; nothing may use the
// slice after. On failure it falls back to the heap.
func offHeap[T any](n int) (s []T, free func()) {
	var zero T
	size := n * int(unsafe.Sizeof(zero))
	if n <= 0 || size < hugePage {
		return make([]T, n), func() {}
	}
	mem, err := syscall.Mmap(-1, 0, size+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		return make([]T, n), func() {}
	}
	skip := 0 // to the first huge-page boundary
	if r := int(uintptr(unsafe.Pointer(&mem[0])) % hugePage); r != 0 {
		skip = hugePage - r
	}
	body := mem[skip : skip+size]
	_ = syscall.Madvise(body, syscall.MADV_HUGEPAGE) // advice only: 4K pages work too
	return unsafe.Slice((*T)(unsafe.Pointer(&body[0])), n), func() { _ = syscall.Munmap(mem) }
}
