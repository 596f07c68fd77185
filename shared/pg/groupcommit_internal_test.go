package pg

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// gate is a GroupCommit run function that records its batches and holds each until
// released, so that a test decides what is waiting when a batch starts.
type gate struct {
	mu      sync.Mutex
	batches [][]int
	started chan []int
	release chan struct{}
	err     error // the answer of every batch, when set
}

func newGate() *gate {
	return &gate{started: make(chan []int, 100), release: make(chan struct{}, 100)}
}

func (g *gate) run(_ context.Context, items []int) ([]int, error) {
	g.mu.Lock()
	g.batches = append(g.batches, slices.Clone(items))
	g.mu.Unlock()
	g.started <- items
	<-g.release
	if g.err != nil {
		return nil, g.err
	}
	res := make([]int, len(items))
	for i, v := range items {
		res[i] = v * 10
	}
	return res, nil
}

// waiting blocks until n calls wait for a batch (not yet taken by one).
func waiting[T, R any](t *testing.T, g *GroupCommit[T, R], n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		got := len(g.pending)
		g.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls waiting, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

type answer struct{ item, res int }

func call(g *GroupCommit[int, int], item int, out chan<- answer, errs chan<- error) {
	res, err := g.Do(context.Background(), item)
	if err != nil {
		errs <- err
		return
	}
	out <- answer{item, res}
}

// A lone call runs at once, alone; calls arriving while a batch runs wait and form
// the next batch, at most size items each; each caller gets its own item's result.
func TestGroupCommitCoalescesWhatArrivesDuringABatch(t *testing.T) {
	t.Parallel()
	gt := newGate()
	g := NewGroupCommit(3, 1, gt.run)
	out, errs := make(chan answer, 10), make(chan error, 10)
	go call(g, 1, out, errs)
	if b := <-gt.started; !slices.Equal(b, []int{1}) {
		t.Fatalf("first batch %v, want the lone call", b)
	}
	for i := 2; i <= 8; i++ {
		go call(g, i, out, errs)
	}
	waiting(t, g, 7)
	for range 4 {
		gt.release <- struct{}{}
	}
	got := map[int]int{}
	for range 8 {
		select {
		case a := <-out:
			got[a.item] = a.res
		case err := <-errs:
			t.Fatal(err)
		}
	}
	for i := 1; i <= 8; i++ {
		if got[i] != i*10 {
			t.Fatalf("call %d got %d, want %d", i, got[i], i*10)
		}
	}
	var sizes []int
	for _, b := range gt.batches {
		sizes = append(sizes, len(b))
	}
	if !slices.Equal(sizes, []int{1, 3, 3, 1}) {
		t.Fatalf("batch sizes %v, want [1 3 3 1]", sizes)
	}
}

// A leader whose own call is answered returns to its caller; the batches still
// waiting are led by another goroutine.
func TestGroupCommitLeaderReturnsWithItsOwnAnswer(t *testing.T) {
	t.Parallel()
	gt := newGate()
	g := NewGroupCommit(1, 1, gt.run)
	out, errs := make(chan answer, 10), make(chan error, 10)
	go call(g, 1, out, errs)
	<-gt.started
	go call(g, 2, out, errs)
	waiting(t, g, 1)
	gt.release <- struct{}{}
	if a := <-out; a != (answer{1, 10}) {
		t.Fatalf("first answer %v", a)
	}
	if b := <-gt.started; !slices.Equal(b, []int{2}) {
		t.Fatalf("second batch %v", b)
	}
	gt.release <- struct{}{}
	if a := <-out; a != (answer{2, 20}) {
		t.Fatalf("second answer %v", a)
	}
}

// Up to workers batches run at once.
func TestGroupCommitRunsWorkersBatchesAtOnce(t *testing.T) {
	t.Parallel()
	gt := newGate()
	g := NewGroupCommit(10, 2, gt.run)
	out, errs := make(chan answer, 10), make(chan error, 10)
	go call(g, 1, out, errs)
	<-gt.started
	go call(g, 2, out, errs)
	<-gt.started // the second batch started while the first still runs
	go call(g, 3, out, errs)
	waiting(t, g, 1) // the third waits: two batches run
	for range 3 {
		gt.release <- struct{}{}
	}
	for range 3 {
		select {
		case <-out:
		case err := <-errs:
			t.Fatal(err)
		}
	}
}

// A batch's error, a panic or a wrong number of results reaches each of its callers,
// and no other batch's.
func TestGroupCommitBatchErrorsReachTheirCallers(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		run  func(context.Context, []int) ([]int, error)
		want func(error) bool
	}{
		{"error", func(context.Context, []int) ([]int, error) { return nil, boom }, func(err error) bool { return errors.Is(err, boom) }},
		{"panic", func(context.Context, []int) ([]int, error) { panic("boom") }, func(err error) bool {
			var p *groupPanic
			return errors.As(err, &p)
		}},
		{"count", func(context.Context, []int) ([]int, error) { return []int{1}, nil }, func(err error) bool { return errors.Is(err, errGroupResults) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gt := newGate()
			var calls sync.Mutex
			n := 0
			g := NewGroupCommit(10, 1, func(ctx context.Context, items []int) ([]int, error) {
				calls.Lock()
				n++
				first := n == 1
				calls.Unlock()
				if first { // the first batch (a lone call) succeeds
					return gt.run(ctx, items)
				}
				return tc.run(ctx, items)
			})
			out, errs := make(chan answer, 10), make(chan error, 10)
			go call(g, 1, out, errs)
			<-gt.started
			go call(g, 2, out, errs)
			go call(g, 3, out, errs)
			waiting(t, g, 2)
			gt.release <- struct{}{}
			if a := <-out; a != (answer{1, 10}) {
				t.Fatalf("the good batch answered %v", a)
			}
			for range 2 {
				if err := <-errs; !tc.want(err) {
					t.Fatalf("error %v", err)
				}
			}
		})
	}
}
