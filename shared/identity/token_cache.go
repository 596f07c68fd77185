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
// the older generation and dropped at the next request. maxAge bounds what a lost
// bump (Redis flushed, say) could leave behind.
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
	gen       int64
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

// fresh reports whether e may be used under the current generation at now.
func (c *tokenCache) fresh(e cachedToken, gen int64, now time.Time) bool {
	return e.gen == gen && now.Before(e.expiresAt) && now.Sub(e.loaded) < c.maxAge
}

const generationKey = "generation"

var bumpScript = redis.NewScript(`return redis.call('INCR', KEYS[1])`)

// bumpGeneration invalidates every cached principal in every process. It runs after a
// change has committed; a failure is logged, and maxAge limits its effect.
func (s *Service) bumpGeneration(ctx context.Context) {
	if err := bumpScript.Run(context.WithoutCancel(ctx), s.limit.rdb, []string{s.limit.prefix + generationKey}).Err(); err != nil {
		s.logger().ErrorContext(ctx, "identity: bump generation", "err", err)
	}
}
