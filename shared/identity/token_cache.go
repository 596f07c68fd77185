package identity

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// tokenCache keeps the principal an API token resolved to, so that a request with a
// known token costs one Redis round trip (the rate limit, which also reads the
// identity generation) instead of four PostgreSQL queries.
//
// It can never serve a revoked token or a withdrawn role: every change that alters a
// principal bumps the generation in Redis after it commits (bumpGeneration), and an
// entry is used only while its generation is the current one. The generation is read
// before the principal is loaded, so a load that races with a change is stored under
// the older generation and dropped at the next request.
//
// Redis losing its data does not bring old entries back: a missing generation is never
// trusted (everything reloads from PostgreSQL), and a generation started afresh is the
// Redis clock in microseconds, above every value counted before (a counter restarted at
// 1 would meet entries cached under 1 again). A bump Redis refused is retried until it
// lands (bumpGeneration); maxAge bounds what a bump lost for good could leave behind.
type tokenCache struct {
	mu      sync.Mutex
	entries map[[32]byte]*cachedToken
	max     int
	maxAge  time.Duration
}

type cachedToken struct {
	tokenID   uuid.UUID
	expiresAt time.Time
	lastUsed  time.Time // when last_used_at was last written
	gen       int64     // generation.value when the principal was loaded
	loaded    time.Time
	p         *Principal // shared by requests: never modified once cached
}

func newTokenCache() *tokenCache {
	return &tokenCache{entries: map[[32]byte]*cachedToken{}, max: 10_000, maxAge: 5 * time.Minute}
}

func (c *tokenCache) get(key [32]byte) (cachedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return cachedToken{}, false
	}
	return *e, true
}

func (c *tokenCache) put(key [32]byte, e cachedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k := range c.entries { // full: drop an arbitrary entry; it reloads on use
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = &e
}

func (c *tokenCache) touched(key [32]byte, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		e.lastUsed = at
	}
}

func (c *tokenCache) drop(key [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

func (c *tokenCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}

// generation is the identity generation as Redis reported it.
type generation struct {
	value   int64
	missing bool // Redis had none: it lost its data; nothing cached is to be trusted
}

// fresh reports whether e may be used under the current generation at now.
func (c *tokenCache) fresh(e cachedToken, gen generation, now time.Time) bool {
	return !gen.missing && e.gen == gen.value && now.Before(e.expiresAt) && now.Sub(e.loaded) < c.maxAge
}

const generationKey = "generation"

// newGenerationLua sets a missing generation (KEYS[2] in the window script, KEYS[1] in
// the bump, as gen_key) to the Redis clock in microseconds, as a decimal string
// (Lua numbers would print it in exponent form), and leaves it in gen.
const newGenerationLua = `
local t = redis.call('TIME')
gen = t[1] .. string.format('%06d', tonumber(t[2]))
redis.call('SET', gen_key, gen)`

var bumpScript = redis.NewScript(`
local gen_key = KEYS[1]
if redis.call('EXISTS', gen_key) == 1 then return redis.call('INCR', gen_key) end
local gen` + newGenerationLua + `
return tonumber(gen)`)

// bumpRetry is how often a bump Redis refused is tried again.
const bumpRetry = time.Second

// bumpGeneration invalidates every cached principal in every process. It runs after a
// change has committed. When Redis refuses it (down), this process's cache is emptied
// at once and the bump is retried in the background for up to maxAge, so that the other
// replicas see it as soon as Redis is back (they serve no token while it is down: the
// rate limit needs Redis); maxAge bounds the rest.
func (s *Service) bumpGeneration(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	err := s.bumpOnce(ctx)
	if err == nil {
		return
	}
	s.logger().ErrorContext(ctx, "identity: bump generation; retrying in the background", "err", err)
	s.tokens.clear()
	go func() {
		deadline := time.Now().Add(s.tokens.maxAge)
		for time.Now().Before(deadline) {
			time.Sleep(bumpRetry)
			if s.bumpOnce(ctx) == nil {
				s.tokens.clear() // entries cached while Redis was away carry the old generation
				return
			}
		}
		s.logger().ErrorContext(ctx, "identity: generation bump lost; cached principals expire within their max age")
	}()
}

func (s *Service) bumpOnce(ctx context.Context) error {
	return bumpScript.Run(ctx, s.limit.rdb, []string{s.limit.prefix + generationKey}).Err()
}
