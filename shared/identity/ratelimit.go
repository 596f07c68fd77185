package identity

import (
	"context"
	"fmt"
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
// windowScript counts in a fixed window and, in the same round trip, reads the
// identity generation (KEYS[2]) that cached principals are checked against. A missing
// generation (Redis lost its data) is started afresh (newGenerationLua) and reported
// as missing (the fourth value 1), so that no cached principal is trusted this time.
var windowScript = redis.NewScript(`
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if n == tonumber(ARGV[2]) and n > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if n == 0 then redis.call('DEL', KEYS[1]) end
local gen_key = KEYS[2]
local gen = redis.call('GET', gen_key)
if gen then return {n, ttl, tonumber(gen), 0} end
` + newGenerationLua + `
return {n, ttl, tonumber(gen), 1}`)

// add counts cost events (0: only look) and returns the count in the current window and
// the time until it ends.
func (l limiter) add(ctx context.Context, key string, cost int, window time.Duration) (int, time.Duration, error) {
	n, ttl, _, err := l.addReadGeneration(ctx, key, cost, window)
	return n, ttl, err
}

// addReadGeneration is add that also returns the identity generation; gen.missing says
// Redis had none (it lost its data), so that nothing cached may be trusted.
func (l limiter) addReadGeneration(ctx context.Context, key string, cost int, window time.Duration) (int, time.Duration, generation, error) {
	res, err := windowScript.Run(ctx, l.rdb, []string{l.prefix + key, l.prefix + generationKey}, window.Milliseconds(), cost).Int64Slice()
	if err != nil {
		return 0, 0, generation{}, fmt.Errorf("identity: rate limit %s: %w", key, err)
	}
	ttl := time.Duration(res[1]) * time.Millisecond
	if ttl < 0 {
		ttl = 0
	}
	return int(res[0]), ttl, generation{value: res[2], missing: res[3] == 1}, nil
}

// retryAfter is a wait in whole seconds, at least one.
func retryAfter(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
