package consumer

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/pg"
)

// expiryShards is how many key ranges of members the expiry job works through at
// once, each on its own connection: the ranges share no member, so they never wait
// on one another's locks.
const expiryShards = 4

// expiryBatch is how many members one transaction of the expiry job covers (ten
// thousand lots in the bench): short transactions, so a redemption never waits long
// behind one, and the old versions of the lots a batch expired can be pruned soon
// after it commits, making room on their pages for the next batches' (migration 010).
const expiryBatch = 1000

// ExpireLots expires what remains of every lot past its expiry, one entry per member
// and run. It is set-based: each transaction locks a batch of members (DueConsumers)
// and expires their due lots, writes their entries and moves their balances in one
// statement (ExpireDueLots), then publishes their balances in one event; the members'
// id space is split into expiryShards ranges worked through concurrently. Idempotent (an expired lot has nothing left to expire) and safe
// beside a concurrent redemption: both hold the member's row first, and a redemption
// never draws from a lot past its expiry, so whichever comes first wins and the
// other sees its result.
func (s *Service) ExpireLots(ctx context.Context) (JobResult, error) {
	now := s.now()
	run := s.newID().String()
	results := make([]JobResult, expiryShards)
	g, gctx := errgroup.WithContext(ctx)
	for k := range expiryShards {
		g.Go(func() error {
			var err error
			results[k], err = s.expireRange(gctx, now, run, shardBound(k), shardBound(k+1))
			return err
		})
	}
	err := g.Wait()
	var res JobResult
	for _, r := range results {
		res.Members += r.Members
		res.Points += r.Points
	}
	return res, err
}

// shardBound is the k-th of expiryShards+1 bounds splitting the uuid space: ranges
// are (bound(k), bound(k+1)], the first from the nil uuid, the last to all ones.
func shardBound(k int) uuid.UUID {
	var u uuid.UUID
	switch {
	case k >= expiryShards:
		for i := range u {
			u[i] = 0xff
		}
	case k > 0:
		u[0] = byte(k * 256 / expiryShards)
	}
	return u
}

// expireRange expires the due lots of the members in (after, upto], a batch at a time.
func (s *Service) expireRange(ctx context.Context, now time.Time, run string, after, upto uuid.UUID) (JobResult, error) {
	var res JobResult
	for {
		var last uuid.UUID
		var n int
		var batch JobResult // counted once the transaction commits (it may be retried)
		err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
			batch = JobResult{}
			q := consumerdb.New(tx)
			ids, err := q.DueConsumers(ctx, consumerdb.DueConsumersParams{Now: now, After: after, Upto: upto, Lim: expiryBatch})
			if err != nil || len(ids) == 0 {
				return err
			}
			if err := q.PlanExpiryGenerically(ctx); err != nil {
				return err
			}
			n, last = len(ids), ids[len(ids)-1]
			entryIDs := make([]uuid.UUID, len(ids))
			for i := range entryIDs {
				entryIDs[i] = s.newID()
			}
			rows, err := q.ExpireDueLots(ctx, consumerdb.ExpireDueLotsParams{Consumers: ids, Now: now,
				EntryIds: entryIDs, Kind: KindExpire, KeyPrefix: "expire:" + run + ":"})
			if err != nil || len(rows) == 0 {
				return err
			}
			balances := make([]events.PointsBalance, len(rows))
			for i, r := range rows {
				balances[i] = events.PointsBalance{ConsumerID: r.ConsumerID, Balance: r.Balance}
				batch.Members++
				batch.Points += r.Active + r.Pending
			}
			return s.publishBalanceList(ctx, q, balances)
		})
		if err != nil {
			return res, wrap("expire points", err)
		}
		res.Members += batch.Members
		res.Points += batch.Points
		if n < expiryBatch {
			return res, nil
		}
		after = last
	}
}
