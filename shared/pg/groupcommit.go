package pg

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

var errGroupResults = errors.New("pg: group commit: a batch answered for a different number of items")

// groupPanic is a batch's panic, as each of its callers' error.
type groupPanic struct{ value any }

func (p *groupPanic) Error() string {
	return fmt.Sprintf("pg: group commit: batch panicked: %v", p.value)
}

// GroupCommit coalesces concurrent calls into batches, each run by one call of its
// run function, so that concurrent requests share one transaction and one durable
// commit (and its round trips, plan set-ups and WAL flush) instead of paying for one
// each. It needs no goroutine of its own and adds no wait: a call that finds fewer
// than Workers batches running leads, taking every call waiting (up to Max) as one
// batch; calls that arrive while batches run wait and form the next batch. So a lone
// call runs at once, alone, and under load batches grow with the load.
//
// Each call gets its own result, or the batch's error. run must answer for every item
// (results in the items' order), and should itself decide what an item that cannot
// join the batch gets (typically a result telling its caller to take the
// one-at-a-time path). Callers wait for their batch even when their context ends,
// since its transaction may already have committed their item: run gets a context
// that is never cancelled (the leading call's values, without its cancellation).
type GroupCommit[T, R any] struct {
	run     func(ctx context.Context, items []T) ([]R, error)
	max     int
	workers int

	mu      sync.Mutex
	pending []*groupCall[T, R]
	running int // batches being led
}

type groupCall[T, R any] struct {
	item T
	res  R
	err  error
	done chan struct{}
}

// NewGroupCommit is a GroupCommit running at most workers batches at once (at least
// one), of at most size items each (at least one).
func NewGroupCommit[T, R any](size, workers int, run func(ctx context.Context, items []T) ([]R, error)) *GroupCommit[T, R] {
	return &GroupCommit[T, R]{run: run, max: max(size, 1), workers: max(workers, 1)}
}

// Do runs item in the next batch and returns its result once the batch has run.
func (g *GroupCommit[T, R]) Do(ctx context.Context, item T) (R, error) {
	c := &groupCall[T, R]{item: item, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	lead := g.running < g.workers
	if lead {
		g.running++
	}
	g.mu.Unlock()
	if lead {
		g.lead(context.WithoutCancel(ctx), c)
	}
	<-c.done
	return c.res, c.err
}

// lead runs batches until none is waiting. Once its own call is answered it hands the
// lead to a new goroutine rather than keep its caller waiting for others' batches.
func (g *GroupCommit[T, R]) lead(ctx context.Context, own *groupCall[T, R]) {
	for {
		g.mu.Lock()
		if len(g.pending) == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		if own != nil && answered(own) {
			g.mu.Unlock()
			go g.lead(ctx, nil)
			return
		}
		n := min(len(g.pending), g.max)
		batch := make([]*groupCall[T, R], n)
		copy(batch, g.pending)
		g.pending = append(g.pending[:0], g.pending[n:]...)
		g.mu.Unlock()
		g.runBatch(ctx, batch)
	}
}

func answered[T, R any](c *groupCall[T, R]) bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (g *GroupCommit[T, R]) runBatch(ctx context.Context, batch []*groupCall[T, R]) {
	items := make([]T, len(batch))
	for i, c := range batch {
		items[i] = c.item
	}
	res, err := g.safeRun(ctx, items)
	if err == nil && len(res) != len(items) {
		err = errGroupResults
	}
	for i, c := range batch {
		if err != nil {
			c.err = err
		} else {
			c.res = res[i]
		}
		close(c.done)
	}
}

// safeRun is run, with a panic turned into the batch's error so that no caller waits
// forever.
func (g *GroupCommit[T, R]) safeRun(ctx context.Context, items []T) (res []R, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &groupPanic{p}
		}
	}()
	return g.run(ctx, items)
}
