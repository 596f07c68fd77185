package identity

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/pg"
)

// tokenCache keeps the principal an API token resolved to, so that a request with a
// known token costs no round trip at all: no PostgreSQL query, no Redis call.
//
// It can never serve a revoked token or a withdrawn role for longer than a NOTIFY
// takes: every change that alters a principal sends a PostgreSQL NOTIFY in its own
// transaction (changeTx), so the notification is delivered exactly when the change
// commits, and cannot be lost by a crash between the two. Each process LISTENs
// (Service.Run) and moves its generation on at each notification; an entry is used
// only while its generation is the current one. The process that made the change
// moves its own generation on before the change's call returns, without waiting for
// its notification.
//
// The generation is read before the principal is loaded, so a load that races with a
// change is stored under the older generation and dropped at the next request.
// While the listening connection is down (or before it is first up) the generation is
// unknown and nothing cached is trusted: every request reloads from PostgreSQL. When it
// comes back, the generation moves on, since notifications sent meanwhile were missed.
// maxAge bounds an entry's life whatever happens.
type tokenCache struct {
	mu      sync.Mutex
	entries map[[32]byte]*cachedToken
	max     int
	maxAge  time.Duration
	gen     generations
}

type cachedToken struct {
	tokenID   uuid.UUID
	expiresAt time.Time
	lastUsed  time.Time // when last_used_at was last written
	gen       int64     // the generation when the principal was loaded
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

// claimTouch reports whether the caller is the one to write the token's last_used_at
// at now: true unless the cached entry was written (or claimed) within touchEvery. It
// marks the entry at now, so that of the requests that find it due at once (every
// request in flight, once a minute) one writes and the others go on without a round
// trip, instead of all queueing on the token's row lock. A token not cached is written
// by each request (as on its first use).
func (c *tokenCache) claimTouch(key [32]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return true
	}
	if !e.lastUsed.IsZero() && now.Sub(e.lastUsed) <= touchEvery {
		return false
	}
	e.lastUsed = now
	return true
}

// untouch gives back a claim whose write failed (the entry still shows the claim), so
// that a later request writes it.
func (c *tokenCache) untouch(key [32]byte, claimed, before time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && e.lastUsed.Equal(claimed) {
		e.lastUsed = before
	}
}

func (c *tokenCache) drop(key [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

// fresh reports whether e may be used at now under generation gen (0: unknown).
func (c *tokenCache) fresh(e cachedToken, gen int64, now time.Time) bool {
	return gen != 0 && e.gen == gen && now.Before(e.expiresAt) && now.Sub(e.loaded) < c.maxAge
}

// generations is this process's identity generation: 0 while it is unknown (the
// listening connection is down), else a number that only grows.
type generations struct {
	mu   sync.Mutex
	last int64
	cur  atomic.Int64
}

func (g *generations) current() int64 { return g.cur.Load() }

// bump moves a known generation on; an unknown one stays unknown (it gets a new
// number when it is known again).
func (g *generations) bump() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cur.Load() != 0 {
		g.last++
		g.cur.Store(g.last)
	}
}

// lost makes the generation unknown: notifications may be missed from now on.
func (g *generations) lost() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cur.Store(0)
}

// known makes the generation known again, under a number no entry carries.
func (g *generations) known() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last++
	g.cur.Store(g.last)
}

// changeChannel is the PostgreSQL NOTIFY channel of identity changes.
const changeChannel = "tandem_identity_changed"

// changeTx runs fn in a transaction that changes principals: its commit notifies every
// process (the NOTIFY is sent with it), and this process's cached principals are
// invalid before changeTx returns.
func (s *Service) changeTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "SELECT pg_notify($1, '')", changeChannel)
		return err
	})
	if err == nil {
		s.tokens.gen.bump()
	}
	return err
}

// Run keeps this process's token cache and token rate counts in step with the others:
// it LISTENs for identity changes (reconnecting after a loss, with nothing cached
// trusted meanwhile) and flushes the token rate counts to Redis every flushEvery. It
// returns when ctx ends. A Service whose Run is not running trusts no cached principal
// and counts token rates in this process only.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { s.rates.flushLoop(ctx, s.limit, s.logger(), s.now) })
	defer wg.Wait()
	backoff := 50 * time.Millisecond
	for {
		err := s.listen(ctx)
		s.tokens.gen.lost()
		if ctx.Err() != nil {
			return nil
		}
		s.logger().WarnContext(ctx, "identity: change listener lost; nothing cached is trusted until it is back", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// listen holds one connection LISTENing for changes until it fails or ctx ends.
func (s *Service) listen(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.db.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("identity: connect the change listener: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+changeChannel); err != nil {
		return fmt.Errorf("identity: listen: %w", err)
	}
	s.tokens.gen.known()
	s.listening.Store(true)
	defer s.listening.Store(false)
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("identity: wait for a change: %w", err)
		}
		s.tokens.gen.bump()
	}
}

// Listening reports whether Run's change listener is connected, so that cached
// principals are trusted (for tests and readiness).
func (s *Service) Listening() bool { return s.listening.Load() }
