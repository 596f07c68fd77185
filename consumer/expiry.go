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

// ExpireLots expires what remains of every lot past its expiry, one entry per member
// and run. It is set-based: each transaction locks a batch of members (DueConsumers)
// and expires their due lots, writes their entries and moves their balances in one
// statement (expireDueLots), then publishes their balances in one event; the members'
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
			ids, err := q.DueConsumers(ctx, consumerdb.DueConsumersParams{Now: now, After: after, Upto: upto, Lim: jobBatch})
			if err != nil || len(ids) == 0 {
				return err
			}
			n, last = len(ids), ids[len(ids)-1]
			entryIDs := make([]uuid.UUID, len(ids))
			for i := range entryIDs {
				entryIDs[i] = s.newID()
			}
			rows, err := expireDue(ctx, tx, ids, now, entryIDs, "expire:"+run+":")
			if err != nil || len(rows) == 0 {
				return err
			}
			balances := make([]events.PointsBalance, len(rows))
			for i, r := range rows {
				balances[i] = events.PointsBalance{ConsumerID: r.consumerID, Balance: r.balance}
				batch.Members++
				batch.Points += r.active + r.pending
			}
			return s.publishBalanceList(ctx, q, balances)
		})
		if err != nil {
			return res, wrap("expire points", err)
		}
		res.Members += batch.Members
		res.Points += batch.Points
		if n < jobBatch {
			return res, nil
		}
		after = last
	}
}

// expireDueLots expires what remains of the due lots of the locked members, writes one
// entry per member and moves their balances, in one statement; it returns each
// member's new balance and what expired (active and pending). $3 holds a new entry id
// per member (at least as many as $1).
//
// The lots are updated where the scan found them (a TID scan on their ctid) rather
// than looked up again by id, which was a third of an update's time. A lot changed
// after the scan is no longer at that ctid and is left for the next run, uncounted;
// none can be, since every writer of a lot holds its member's balance row first, as
// the caller does. It is written here rather than in queries/ because sqlc does not
// know system columns such as ctid.
const expireDueLots = `
WITH due AS (
    SELECT ctid AS tid, remaining, state FROM consumer.points_lots
    WHERE consumer_id = ANY($1::uuid[]) AND remaining > 0 AND expires_at <= $2
    -- no row locks: the caller holds these members' rows, which every writer of their lots takes first
), upd AS (
    UPDATE consumer.points_lots l SET expired = l.expired + due.remaining, remaining = 0
    FROM due WHERE l.ctid = due.tid
    RETURNING l.consumer_id, due.remaining, due.state
), per AS (
    SELECT consumer_id,
           COALESCE(SUM(remaining) FILTER (WHERE state = 'active'), 0)::bigint AS active,
           COALESCE(SUM(remaining) FILTER (WHERE state = 'pending'), 0)::bigint AS pending,
           row_number() OVER (ORDER BY consumer_id) AS n
    FROM upd GROUP BY consumer_id
), entries AS (
    INSERT INTO consumer.points_entries (id, consumer_id, delta, kind, source_key, created_at)
    SELECT ($3::uuid[])[per.n], per.consumer_id, (-(per.active + per.pending))::int, $4::text,
           $5::text || per.consumer_id::text, $2
    FROM per
), moved AS (
    UPDATE consumer.points_balances b SET balance = b.balance - per.active, pending = b.pending - per.pending, updated_at = $2
    FROM per WHERE b.consumer_id = per.consumer_id
    RETURNING b.consumer_id, b.balance
)
SELECT moved.consumer_id, moved.balance, per.active, per.pending FROM moved JOIN per ON per.consumer_id = moved.consumer_id
ORDER BY moved.consumer_id`

// expiredPoints is one member's row of expireDueLots.
type expiredPoints struct {
	consumerID      uuid.UUID
	balance         int64
	active, pending int64
}

func expireDue(ctx context.Context, tx pgx.Tx, consumers []uuid.UUID, now time.Time, entryIDs []uuid.UUID, keyPrefix string) ([]expiredPoints, error) {
	rows, err := tx.Query(ctx, expireDueLots, consumers, now, entryIDs, KindExpire, keyPrefix)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (expiredPoints, error) {
		var e expiredPoints
		err := r.Scan(&e.consumerID, &e.balance, &e.active, &e.pending)
		return e, err
	})
}
