package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/tandemcrm/tandem/shared/config"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

// The serving target measured as a client sees it: `tandem serve` in its own process on
// the bench database, and --clients connections over loopback asking for top-20
// recommendations (GET /api/v1/matching/consumers/{id}/recommendations with a real API
// token) at fixed offered rates, open loop: requests are due at regular times whether
// or not earlier ones have been answered, and each latency is counted from when it was
// due, so a server falling behind shows in the figures instead of slowing the clients.
// GET /healthz at the same rate over the same connections is the floor: what HTTP over
// loopback costs on this machine with no authentication, no store and no JSON.

// httpServeOptions are the HTTP serve benchmark's flags.
type httpServeOptions struct {
	rates   []int         // offered requests per second, one run each (empty: skip)
	d       time.Duration // per run
	clients int
	working int // consumers asked for (their lists fit the server's cache)
	// cpuProfile and trace are where the server's CPU profile and execution trace of
	// the first recommendations run go ("": none).
	cpuProfile, trace string
	serveBinary       string // the tandem whose serve is measured ("": this one)
}

// benchMatchingHTTPOnly runs the HTTP serve benchmark alone on the database a full run
// left (tandem_bench_matching), asking for consumers it holds lists of: minutes
// quicker than a full run, for comparing builds back to back.
func benchMatchingHTTPOnly(ctx context.Context, out io.Writer, cfg config.Config, o httpServeOptions) error {
	u, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	u.Path = "/tandem_bench_matching"
	db, err := pg.Connect(ctx, u.String(), pg.PoolConfig{MaxConns: 4, AppName: "tandem-bench"})
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.Query(ctx, `SELECT consumer_id FROM matching.recommendation_lists ORDER BY consumer_id LIMIT $1`, o.working)
	if err != nil {
		return fmt.Errorf("--http-only needs the database of a full run (tandem bench matching without it): %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return errors.New("--http-only: tandem_bench_matching holds no recommendations; run tandem bench matching without it first")
	}
	// Consumers never seen (the cold-start list), the same for every run.
	r := rand.New(rand.NewPCG(7, 7))
	unknown := make([]uuid.UUID, max(100, len(ids)/10))
	for i := range unknown {
		unknown[i] = uuid.Must(uuid.NewRandomFromReader(randReader{r}))
	}
	return benchMatchingHTTP(ctx, out, cfg, db, ids, unknown, o)
}

// randReader reads bytes from a seeded generator.
type randReader struct{ r *rand.Rand }

func (rr randReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(rr.r.Uint32())
	}
	return len(p), nil
}

// parseRates reads "2000,5000".
func parseRates(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--http-rates: %q is not a positive rate", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// benchMatchingHTTP starts `tandem serve` on the bench database and measures it.
func benchMatchingHTTP(ctx context.Context, out io.Writer, cfg config.Config, db *pgxpool.Pool, ids, unknown []uuid.UUID, o httpServeOptions) error {
	if len(o.rates) == 0 {
		return nil
	}
	rdb := redis.NewClient(mustRedisOptions(cfg.RedisURL))
	defer rdb.Close()
	users := identity.NewService(db, rdb, identity.Config{})
	demo, err := users.SeedDemo(ctx, demoPassword)
	if err != nil {
		return fmt.Errorf("bench users: %w", err)
	}
	admin, err := users.Principal(ctx, demo.Users["admin"])
	if err != nil {
		return err
	}
	_, token, err := users.CreateToken(ctx, admin, identity.NewToken{Name: "bench-matching-" + uuid.NewString()[:8], TTL: 24 * time.Hour})
	if err != nil {
		return fmt.Errorf("bench token: %w", err)
	}
	stop, base, pprofBase, pid, err := startBenchServe(ctx, o.serveBinary, cfg, db.Config().ConnString())
	if err != nil {
		return err
	}
	defer stop()

	working := ids[:min(len(ids), o.working)]
	unknownWorking := unknown[:min(len(unknown), max(1, len(working)/10))]
	tr := &http.Transport{MaxIdleConns: o.clients, MaxIdleConnsPerHost: o.clients, MaxConnsPerHost: o.clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	recsURL := func(c uuid.UUID) string {
		return base + "/api/v1/matching/consumers/" + c.String() + "/recommendations?limit=20"
	}
	get := func(url string, auth bool) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err == nil && res.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %s", url, res.Status)
		}
		return err
	}
	// Warm the server's cache with every consumer asked for (one PostgreSQL read each:
	// the miss is the row of the in-process figures), closed loop. Twice: a list read
	// while the cache's first poll of the change log forgets consumers is not kept, and
	// is read again by the second pass rather than by the measured runs.
	start := time.Now()
	for range 2 {
		if err := forEachParallel(append(append([]uuid.UUID{}, working...), unknownWorking...), o.clients, func(c uuid.UUID) error { return get(recsURL(c), true) }); err != nil {
			return fmt.Errorf("warming the server: %w", err)
		}
	}
	fmt.Fprintf(out, "| serve over HTTP: `tandem serve` in its own process warmed with %d consumers' lists (+%d unknown) in %s | – |\n",
		len(working), len(unknownWorking), time.Since(start).Round(time.Millisecond))
	for i, rate := range o.rates {
		for _, target := range []struct {
			name string
			url  func(r *rand.Rand) string
			auth bool
		}{
			{"GET /healthz (the floor: HTTP over loopback, no auth, no store)", func(*rand.Rand) string { return base + "/healthz" }, false},
			{"GET /api/v1/matching/consumers/{id}/recommendations?limit=20 (API token, 10 % unknown consumers)", func(r *rand.Rand) string {
				if r.IntN(10) == 0 {
					return recsURL(unknownWorking[r.IntN(len(unknownWorking))])
				}
				return recsURL(working[r.IntN(len(working))])
			}, true},
		} {
			profiled, traced := make(chan error, 1), make(chan error, 1)
			first := i == 0 && target.auth
			if first && o.cpuProfile != "" {
				go func() { profiled <- saveProfile(pprofBase, "profile", o.cpuProfile, o.d) }()
			} else {
				profiled <- nil
			}
			if first && o.trace != "" {
				go func() { traced <- saveProfile(pprofBase, "trace", o.trace, o.d) }()
			} else {
				traced <- nil
			}
			cpu0 := processCPUOf(pid)
			res, err := openLoop(ctx, rate, o.clients, o.d, func(r *rand.Rand) error { return get(target.url(r), target.auth) })
			if err != nil {
				return err
			}
			perRequest := time.Duration(0)
			if n := len(res.lat); n > 0 {
				perRequest = (processCPUOf(pid) - cpu0) / time.Duration(n)
			}
			if err := cmp.Or(<-profiled, <-traced); err != nil {
				return fmt.Errorf("the server's CPU profile or trace: %w", err)
			}
			p50, p99 := percentiles(res.lat)
			_, late99 := percentiles(res.late)
			clientCPU := time.Duration(0)
			if n := len(res.lat); n > 0 {
				clientCPU = res.cpu / time.Duration(n)
			}
			fmt.Fprintf(out, "| %s: %d clients over loopback, offered %d/s open loop for %s, achieved %.0f/s, %d errors; the server's CPU %s a request, the client's %s; the client handed requests out late by p99 %s (load average %s) | p50 %s, p99 %s |\n",
				target.name, o.clients, rate, o.d, res.achieved, res.errors, perRequest.Round(time.Microsecond), clientCPU.Round(time.Microsecond), late99, loadAverage(), p50, p99)
		}
	}
	return nil
}

func mustRedisOptions(u string) *redis.Options {
	o, err := redis.ParseURL(u)
	if err != nil {
		return &redis.Options{Addr: "127.0.0.1:63799"}
	}
	return o
}

// saveProfile writes the CPU profile or execution trace (kind "profile" or "trace") of
// the process whose profiler is at base, taken over d, to file.
func saveProfile(base, kind, file string, d time.Duration) error {
	res, err := http.Get(fmt.Sprintf("%s/debug/pprof/%s?seconds=%d", base, kind, max(1, int(d.Seconds()))))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET profile: %s", res.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// processCPUOf is the CPU time (user + system) process pid has used, from
// /proc/<pid>/stat (clock ticks of 10 ms: meaningful over a run of seconds); 0 when
// unreadable.
func processCPUOf(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name (which may hold spaces) start after its ')':
	// utime and stime are fields 14 and 15 of the line, 12 and 13 after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// freeLoopback is a loopback address no one listens on now.
func freeLoopback() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startBenchServe runs exe's (this binary's when "") `tandem serve` on dbURL at a free loopback port,
// with the simulator's WeChat Pay keys made for it, the per-token rate limit raised (as
// make bench's HTTP section does: the limiter still runs on every request) and its
// profiler on, and returns how to stop it, its base URL, its profiler's and its pid.
func startBenchServe(ctx context.Context, exe string, cfg config.Config, dbURL string) (stop func(), base, pprofBase string, pid int, err error) {
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return nil, "", "", 0, err
		}
	}
	keys, err := os.MkdirTemp("", "tandem-bench-keys-")
	if err != nil {
		return nil, "", "", 0, err
	}
	addr, err := freeLoopback()
	if err == nil {
		pprofBase, err = freeLoopback()
	}
	if err == nil {
		_, _, err = wxsim.LoadOrCreateKeys(keys, wxsim.DevMchID)
	}
	if err != nil {
		os.RemoveAll(keys)
		return nil, "", "", 0, err
	}
	cmd := exec.CommandContext(ctx, exe, "serve")
	cmd.Env = append(os.Environ(), "TANDEM_DATABASE_URL="+dbURL, "TANDEM_REDIS_URL="+cfg.RedisURL, "TANDEM_HTTP_ADDR="+addr,
		"TANDEM_LOG_LEVEL=error", "TANDEM_TOKEN_RATE=1000000000", "TANDEM_WXPAY_KEYS="+keys, "TANDEM_PPROF_ADDR="+pprofBase)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(keys)
		return nil, "", "", 0, err
	}
	stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(keys)
	}
	base = "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return stop, base, "http://" + pprofBase, cmd.Process.Pid, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, "", "", 0, errors.New("tandem serve did not answer /healthz within 60 s")
		}
	}
}

// forEachParallel calls fn with every item from n goroutines; the first error stops it.
func forEachParallel(items []uuid.UUID, n int, fn func(uuid.UUID) error) error {
	next := make(chan uuid.UUID)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				if err := fn(c); err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, c := range items {
		next <- c
	}
	close(next)
	wg.Wait()
	return first
}

// openLoopResult is one open-loop run: each request's latency from when it was due.
type openLoopResult struct {
	lat      []time.Duration
	achieved float64 // answered per second
	errors   int
	// late is how late the client itself handed each request out (its dispatcher
	// sleeping past the due time on a busy machine): counted in lat, but the client's
	// delay, not the server's.
	late []time.Duration
	cpu  time.Duration // the client process's CPU over the run
}

// openLoop offers rate requests a second for d to `clients` workers (one connection
// each): request i is due at start + i/rate; a worker takes the next due request when
// free, so when all are busy requests wait, and their wait counts in their latency.
func openLoop(ctx context.Context, rate, clients int, d time.Duration, do func(r *rand.Rand) error) (openLoopResult, error) {
	total := int(float64(rate) * d.Seconds())
	due := make(chan time.Time, total)
	var mu sync.Mutex
	var res openLoopResult
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 5))
			mine := make([]time.Duration, 0, total/clients+1)
			failed := 0
			for at := range due {
				if err := do(r); err != nil {
					failed++
				}
				mine = append(mine, time.Since(at))
			}
			mu.Lock()
			res.lat = append(res.lat, mine...)
			res.errors += failed
			mu.Unlock()
		}()
	}
	res.late = make([]time.Duration, 0, total)
	cpu0 := processCPU()
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for n := 0; n < total; {
		if ctx.Err() != nil {
			break
		}
		// Every request due by now is handed out; then sleep a little (a timer per
		// request would cost more than the requests at these rates).
		for now := time.Since(start); n < total && time.Duration(n)*interval <= now; n++ {
			due <- start.Add(time.Duration(n) * interval)
			res.late = append(res.late, now-time.Duration(n)*interval)
		}
		time.Sleep(200 * time.Microsecond)
	}
	close(due)
	wg.Wait()
	res.cpu = processCPU() - cpu0
	res.achieved = float64(len(res.lat)-res.errors) / time.Since(start).Seconds()
	return res, ctx.Err()
}
