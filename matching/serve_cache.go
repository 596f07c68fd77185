package matching

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching/internal/matchingdb"
)

// Serving from memory. Recommendations are precomputed (a row per merchant in
// matching.recommendations); a request takes a consumer's list from this process's
// cache and reads PostgreSQL only on a miss. The cache learns what changed from
// matching.serving_changes, which every write of recommendations fills in its own
// transaction: at most every pollEvery, one request starts a poll (in the background,
// so no request waits for it) that forgets the consumers changed since the last poll.
// A recompute in this process forgets its consumer at once; in another process (the
// worker after a payment) within pollEvery. A rebuild changes everyone: its batches
// name their consumers like any other write.
//
// What is kept per consumer is the list as served (its JSON: serve_json.go), for a
// consumer with nothing stored the cold-start list (the flag set on each), or the survivor of the merge that consumer is in (the
// survivor's list is served). At most Config.CacheConsumers consumers are kept; past
// that an arbitrary eighth is forgotten (Go's map order), which is good enough for
// lists that are cheap to read again.

// pollEvery is how stale a list may be served after a write in another process.
const pollEvery = 200 * time.Millisecond

// changeWindow is how many change ids below the highest seen are watched at each poll
// (those not applied yet): a transaction that took its id earlier may commit later.
const changeWindow = 1000

const cacheShards = 64

type cached struct {
	list     *servedList // the list as served (nil when survivor is set)
	survivor uuid.UUID   // not Nil: served the survivor's list
}

type serveCache struct {
	max    int
	shards [cacheShards]struct {
		sync.RWMutex
		m map[uuid.UUID]cached
	}
	polling  atomic.Bool
	lastPoll atomic.Int64 // unix nanos
	mu       sync.Mutex   // the poll's cursor
	cursor   int64
	seen     map[int64]bool // change ids in the window already applied
	started  bool
	// gen moves before every forget: a list read from PostgreSQL is kept only if no
	// forget started since the read began, so a write racing the read is never hidden.
	gen atomic.Int64
}

func newServeCache(max int) *serveCache {
	c := &serveCache{max: max, seen: map[int64]bool{}}
	for i := range c.shards {
		c.shards[i].m = map[uuid.UUID]cached{}
	}
	return c
}

func (c *serveCache) shard(id uuid.UUID) int { return int(id[15]) % cacheShards }

func (c *serveCache) get(id uuid.UUID) (cached, bool) {
	sh := &c.shards[c.shard(id)]
	sh.RLock()
	v, ok := sh.m[id]
	sh.RUnlock()
	return v, ok
}

// put keeps v unless a forget started after gen0 was read.
func (c *serveCache) put(id uuid.UUID, v cached, gen0 int64) {
	sh := &c.shards[c.shard(id)]
	sh.Lock()
	defer sh.Unlock()
	if c.gen.Load() != gen0 {
		return
	}
	if per := c.max / cacheShards; len(sh.m) >= max(per, 1) {
		n := len(sh.m) / 8
		for k := range sh.m {
			if n <= 0 {
				break
			}
			delete(sh.m, k)
			n--
		}
	}
	sh.m[id] = v
}

func (c *serveCache) forget(ids []uuid.UUID) {
	c.gen.Add(1)
	for _, id := range ids {
		sh := &c.shards[c.shard(id)]
		sh.Lock()
		delete(sh.m, id)
		sh.Unlock()
	}
}

// maybePoll starts a poll of the change log when the last one is pollEvery old and
// none is running. The first poll of a process runs in the caller: it sets the cursor
// before anything is cached, so nothing cached can predate it.
func (s *Service) maybePoll(ctx context.Context) {
	c := s.cache
	now := time.Now().UnixNano()
	if now-c.lastPoll.Load() < int64(pollEvery) || !c.polling.CompareAndSwap(false, true) {
		return
	}
	c.lastPoll.Store(now)
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		s.pollChanges(context.WithoutCancel(ctx))
		return
	}
	go s.pollChanges(context.WithoutCancel(ctx))
}

// missed are the ids in the window below the cursor not applied yet: a transaction
// that took one of them may still commit. Only these and the ids after the cursor are
// read at a poll; the rows already applied are not read again (after a rebuild they name
// every consumer: reading them at every poll cost the API process most of its CPU).
// Called with c.mu held.
func (c *serveCache) missed() []int64 {
	var out []int64
	for id := max(0, c.cursor-changeWindow) + 1; id <= c.cursor; id++ {
		if !c.seen[id] {
			out = append(out, id)
		}
	}
	return out
}

func (s *Service) pollChanges(ctx context.Context) {
	c := s.cache
	defer c.polling.Store(false)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	q := matchingdb.New(s.db)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		last, err := q.LastServingChange(ctx)
		if err != nil {
			s.log.WarnContext(ctx, "matching: serving cache: change log", "err", err)
			return
		}
		c.cursor, c.started = last, true
		return
	}
	rows, err := q.ServingChangesAfter(ctx, matchingdb.ServingChangesAfterParams{After: c.cursor, Missed: c.missed()})
	if err != nil {
		s.log.WarnContext(ctx, "matching: serving cache: change log", "err", err)
		return
	}
	for _, r := range rows {
		if c.seen[r.ID] {
			continue
		}
		c.seen[r.ID] = true
		c.forget(r.Consumers)
		c.cursor = max(c.cursor, r.ID)
	}
	for id := range c.seen {
		if id <= c.cursor-changeWindow {
			delete(c.seen, id)
		}
	}
}
