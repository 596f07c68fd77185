// Package profiling writes the CPU profiles the benchmarks and one-off commands take
// (`--cpuprofile FILE`), read with `go tool pprof`.
package profiling

import (
	"os"
	"runtime/pprof"
)

// StartCPU profiles this process's CPU into file until stop is called ("": no profile,
// and stop does nothing).
func StartCPU(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
