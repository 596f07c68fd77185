package identity

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// limiter counts events per key in fixed windows in Redis. One script both counts and
// reads the window's remaining time, so concurrent callers never overshoot the limit.
type limiter struct {
	rdb    redis.Scripter
	prefix string
}

// The script adds ARGV[2] (0 to only look) to the key's count, starting the window of
// ARGV[1] ms on the first event, and returns the count and the window's remaining ms.
var windowScript = redis.NewScript(`
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if n == tonumber(ARGV[2]) and n > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if n == 0 then redis.call('DEL', KEYS[1]) end
return {n, ttl}`)

// add counts cost events (0: only look) and returns the count in the current window and
// the time until it ends.
func (l limiter) add(ctx context.Context, key string, cost int, window time.Duration) (int, time.Duration, error) {
	res, err := windowScript.Run(ctx, l.rdb, []string{l.prefix + key}, window.Milliseconds(), cost).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("identity: rate limit %s: %w", key, err)
	}
	ttl := time.Duration(res[1]) * time.Millisecond
	if ttl < 0 {
		ttl = 0
	}
	return int(res[0]), ttl, nil
}

// retryAfter is a wait in whole seconds, at least one.
func retryAfter(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// rateCounter counts token requests in this process, per key in windows of a minute
// from the first request, and is what a request is checked against: no round trip.
// Every flushEvery the counts are added to Redis in one pipeline (limiter.add), which
// answers each key's total over every process; a key's count is that total plus what
// this process counted since. So one process never exceeds the limit, and all of them
// together exceed it by at most what they count in one flush interval. When Redis is
// away, the counts wait and are added when it is back.
type rateCounter struct {
	mu      sync.Mutex
	buckets map[string]*rateBucket
	window  time.Duration
}

type rateBucket struct {
	ends      time.Time
	total     int // every process's count at the last flush (this one's included)
	unflushed int // counted here since
}

const flushEvery = 100 * time.Millisecond

func newRateCounter() *rateCounter {
	return &rateCounter{buckets: map[string]*rateBucket{}, window: time.Minute}
}

// take counts one request of key at now unless the key has had limit in its window;
// when refused it returns the time until the window ends.
func (r *rateCounter) take(key string, limit int, now time.Time) (bool, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buckets[key]
	if b == nil || !now.Before(b.ends) {
		b = &rateBucket{ends: now.Add(r.window)}
		r.buckets[key] = b
	}
	if b.total+b.unflushed >= limit {
		return false, b.ends.Sub(now)
	}
	b.unflushed++
	return true, 0
}

// flush adds the unflushed counts to Redis and takes back each key's total.
func (r *rateCounter) flush(ctx context.Context, l limiter, now time.Time) error {
	type pending struct {
		key string
		b   *rateBucket
		n   int
	}
	var todo []pending
	r.mu.Lock()
	for k, b := range r.buckets {
		switch {
		case !now.Before(b.ends):
			delete(r.buckets, k)
		case b.unflushed > 0:
			todo = append(todo, pending{k, b, b.unflushed})
			b.unflushed = 0
		}
	}
	r.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	pipe, ok := l.rdb.(redis.Cmdable)
	if !ok {
		return fmt.Errorf("identity: flush token rates: the Redis client cannot pipeline")
	}
	cmds := make([]*redis.Cmd, len(todo))
	_, err := pipe.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, t := range todo {
			cmds[i] = windowScript.Eval(ctx, p, []string{l.prefix + t.key}, r.window.Milliseconds(), t.n)
		}
		return nil
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, t := range todo {
		res, cerr := cmds[i].Int64Slice()
		if cerr != nil || len(res) != 2 {
			t.b.unflushed += t.n // counted again at the next flush
			continue
		}
		t.b.total = max(t.b.total+t.n, int(res[0]))
	}
	if err != nil {
		return fmt.Errorf("identity: flush token rates: %w", err)
	}
	return nil
}

func (r *rateCounter) flushLoop(ctx context.Context, l limiter, log *slog.Logger, clock func() time.Time) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := r.flush(ctx, l, clock())
			if err != nil && !failing && ctx.Err() == nil {
				log.WarnContext(ctx, "identity: token rate counts wait for Redis", "err", err)
			}
			failing = err != nil
		}
	}
}
