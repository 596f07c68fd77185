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

// cpuMeter measures the CPU time a benchmark spends, in this process and in the
// PostgreSQL backends serving its database, so that a figure taken on a loaded
// machine can be stated as CPU per unit of work, which other processes do not change.
// The backends' time is read from /proc (the benchmark's server runs on this
// machine); where /proc cannot be read the meter says so instead of guessing.
type cpuMeter struct {
	db       *pgxpool.Pool
	self     time.Duration
	backends map[int]time.Duration
}

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

func startCPUMeter(ctx context.Context, db *pgxpool.Pool) (*cpuMeter, error) {
	m := &cpuMeter{db: db, self: selfCPU()}
	var err error
	m.backends, err = backendCPU(ctx, db)
	return m, err
}

// cpuUsed is what a meter measured: this process's CPU and the backends' (ok false
// when /proc did not show them).
type cpuUsed struct {
	self, backends time.Duration
	ok             bool
}

func (m *cpuMeter) stop(ctx context.Context) (cpuUsed, error) {
	used := cpuUsed{self: selfCPU() - m.self}
	now, err := backendCPU(ctx, m.db)
	if err != nil {
		return used, err
	}
	for pid, t := range now {
		used.backends += t - m.backends[pid] // a backend started meanwhile counts from zero
		used.ok = true
	}
	return used, nil
}

// per says the CPU per unit and the rate two idle cores would allow at that cost.
func (u cpuUsed) per(n int64, cores int) string {
	if n <= 0 {
		return ""
	}
	self := u.self / time.Duration(n)
	if !u.ok {
		return fmt.Sprintf("Go %s CPU per unit (PostgreSQL's not readable here)", self)
	}
	pg := u.backends / time.Duration(n)
	return fmt.Sprintf("CPU per unit: PostgreSQL %s + Go %s; %d idle cores at that cost: %.0f/s", pg.Round(100*time.Nanosecond),
		self.Round(100*time.Nanosecond), cores, float64(cores)*float64(time.Second)/float64(pg+self))
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendCPU is the CPU time so far of each backend connected to db's database.
func backendCPU(ctx context.Context, db *pgxpool.Pool) (map[int]time.Duration, error) {
	rows, err := db.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return nil, fmt.Errorf("bench: backends: %w", err)
	}
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			rows.Close()
			return nil, err
		}
		pids = append(pids, pid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // another machine's server, or gone
		}
		// The fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(ut+st) * clockTick
	}
	return out, nil
}

// pg is the backends' CPU, or a dash when /proc did not show it.
func (u cpuUsed) pg() string {
	if !u.ok {
		return "–"
	}
	return u.backends.Round(10 * time.Millisecond).String()
}
