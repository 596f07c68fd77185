package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// cpuSplit measures where a bench window's CPU went: this process (getrusage) and the
// PostgreSQL backends serving the bench database (their /proc entries, when the server
// runs on this machine). PostgreSQL's background processes (WAL writer, checkpointer)
// are not counted.
type cpuSplit struct {
	db     *pgxpool.Pool
	self   time.Duration
	before map[int]time.Duration // backend pid → CPU at the start
}

func startCPUSplit(ctx context.Context, db *pgxpool.Pool) *cpuSplit {
	return &cpuSplit{db: db, self: selfCPU(), before: backendsCPU(ctx, db)}
}

// stop gives the CPU per unit of work (n units) since the start.
func (c *cpuSplit) stop(ctx context.Context, n int) string {
	self := selfCPU() - c.self
	var pg time.Duration
	after := backendsCPU(ctx, c.db)
	for pid, t := range after {
		pg += t - c.before[pid] // a backend that started in the window counts from zero
	}
	per := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000/float64(n)) }
	if len(after) == 0 {
		return "tandem " + per(self) + " (PostgreSQL's backends not readable here)"
	}
	return fmt.Sprintf("tandem %s, PostgreSQL backends %s", per(self), per(pg))
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendsCPU reads the user and system time of the bench database's backends.
func backendsCPU(ctx context.Context, db *pgxpool.Pool) map[int]time.Duration {
	out := map[int]time.Duration{}
	rows, err := db.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command name (which may hold spaces): state is the 3rd
		// field of the line, utime and stime the 14th and 15th, in clock ticks (100/s).
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(ut+st) * 10 * time.Millisecond
	}
	return out
}
