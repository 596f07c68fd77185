package consumer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Entry kinds.
const (
	KindEarn    = "earn"
	KindReverse = "reverse"
	KindAdjust  = "adjust"
)

// Entry is one immutable points entry.
type Entry struct {
	ID        uuid.UUID  `json:"id"`
	Delta     int64      `json:"delta"`
	Kind      string     `json:"kind"`
	SourceKey string     `json:"source_key"`
	OrderID   *uuid.UUID `json:"order_id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// PointsFor is what an amount earns: PointsPerYuan for every whole yuan.
func (s *Service) PointsFor(amountFen int64) int64 {
	if amountFen <= 0 {
		return 0
	}
	return amountFen / 100 * s.cfg.PointsPerYuan
}

// Payment is a paid order, as billing's event tells it.
type Payment struct {
	OrderID    uuid.UUID
	ConsumerID uuid.UUID
	AmountFen  int64
}

// EarnKey is the source key of an order's earn entry.
func EarnKey(orderID uuid.UUID) string { return "order:" + orderID.String() + ":earn" }

// ReverseKey is the source key of a refund's reversal entry.
func ReverseKey(refundID uuid.UUID) string { return "refund:" + refundID.String() + ":reverse" }

// CreditForPayment credits the points an order earns, exactly once per order however
// often (and however concurrently) it is called: the entry's unique source key
// decides, and the balance moves only with the entry that was written. It returns
// the points credited by this call (0 for a repeat). A consumer who is not a member
// earns nothing.
func (s *Service) CreditForPayment(ctx context.Context, p Payment) (int64, error) {
	points := s.PointsFor(p.AmountFen)
	if points > math.MaxInt32 {
		return 0, errs.Invalidf("amount", "amount earns more points than an entry holds")
	}
	var credited int64
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		credited = 0
		q := consumerdb.New(tx)
		if _, err := q.LockBalance(ctx, p.ConsumerID); errors.Is(err, pgx.ErrNoRows) {
			return errNotMember
		} else if err != nil {
			return err
		}
		n, err := q.InsertEntry(ctx, consumerdb.InsertEntryParams{ID: s.newID(), ConsumerID: p.ConsumerID,
			Delta: int32(points), Kind: KindEarn, SourceKey: EarnKey(p.OrderID),
			OrderID: uuid.NullUUID{UUID: p.OrderID, Valid: true}, CreatedAt: s.now()})
		if err != nil || n == 0 {
			return err
		}
		if _, err := q.AddToBalance(ctx, consumerdb.AddToBalanceParams{Delta: points, At: s.now(), ConsumerID: p.ConsumerID}); err != nil {
			return err
		}
		credited = points
		return nil
	})
	if errors.Is(err, errNotMember) {
		s.log.InfoContext(ctx, "consumer: payment by a non-member earns no points", "consumer", p.ConsumerID, "order", p.OrderID)
		return 0, nil
	}
	return credited, wrap("credit for payment", err)
}

var errNotMember = errors.New("consumer: not a member")

// Refund is a refund of an order, as billing's event tells it. RefundedTotalFen
// includes this refund.
type Refund struct {
	RefundID         uuid.UUID
	OrderID          uuid.UUID
	ConsumerID       uuid.UUID
	OrderAmountFen   int64
	RefundedTotalFen int64
}

// ReverseForRefund takes back the points the refunded amount earned, once per
// refund. After it the order keeps exactly what its unrefunded amount earns, so
// partial refunds arriving in any order add up: the reversal is what the order earned
// minus what the remaining amount earns minus what earlier reversals took. It never
// takes the balance below zero (points already spent stay spent). When the order's
// earn entry is not there yet (events arrive in no order) it fails with
// consumer.earn_pending, and the delivery is retried.
func (s *Service) ReverseForRefund(ctx context.Context, r Refund) (int64, error) {
	var reversed int64
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		reversed = 0
		q := consumerdb.New(tx)
		balance, err := q.LockBalance(ctx, r.ConsumerID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotMember
		} else if err != nil {
			return err
		}
		op, err := q.OrderPoints(ctx, uuid.NullUUID{UUID: r.OrderID, Valid: true})
		if err != nil {
			return err
		}
		if op.EarnEntries == 0 {
			return errs.E(errs.KindUnavailable, CodeEarnPending, "the order's points are not credited yet")
		}
		remaining := max(r.OrderAmountFen-r.RefundedTotalFen, 0)
		take := min(max(op.Earned-s.PointsFor(remaining)-op.Reversed, 0), balance)
		if take == 0 {
			return nil
		}
		n, err := q.InsertEntry(ctx, consumerdb.InsertEntryParams{ID: s.newID(), ConsumerID: r.ConsumerID,
			Delta: int32(-take), Kind: KindReverse, SourceKey: ReverseKey(r.RefundID),
			OrderID: uuid.NullUUID{UUID: r.OrderID, Valid: true}, CreatedAt: s.now()})
		if err != nil || n == 0 {
			return err
		}
		if _, err := q.AddToBalance(ctx, consumerdb.AddToBalanceParams{Delta: -take, At: s.now(), ConsumerID: r.ConsumerID}); err != nil {
			return err
		}
		reversed = take
		return nil
	})
	if errors.Is(err, errNotMember) {
		return 0, nil
	}
	return reversed, wrap("reverse for refund", err)
}

// Adjust adds (or, negative, takes) points by hand: consumer.points.adjust at scope
// all, audited, once per key.
func (s *Service) Adjust(ctx context.Context, caller *identity.Principal, consumerID uuid.UUID, delta int64, key, reason string) error {
	p, err := memberScope(caller, identity.PermPointsAdjust)
	if err != nil {
		return err
	}
	if delta == 0 || delta > math.MaxInt32 || delta < math.MinInt32 {
		return errs.Invalidf("delta", "an adjustment is a non-zero number of points")
	}
	if key == "" || reason == "" {
		return errs.Invalidf("reason", "an adjustment needs a key and a reason")
	}
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := consumerdb.New(tx)
		before, err := q.LockBalance(ctx, consumerID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound(objMember)
		} else if err != nil {
			return err
		}
		n, err := q.InsertEntry(ctx, consumerdb.InsertEntryParams{ID: s.newID(), ConsumerID: consumerID,
			Delta: int32(delta), Kind: KindAdjust, SourceKey: "adjust:" + key, CreatedAt: s.now()})
		if err != nil || n == 0 {
			return err
		}
		after, err := q.AddToBalance(ctx, consumerdb.AddToBalanceParams{Delta: delta, At: s.now(), ConsumerID: consumerID})
		if pg.IsCheckViolation(err, "points_balances_not_negative") {
			return errs.E(errs.KindUnprocessable, "consumer.points_insufficient", fmt.Sprintf("the balance is %d points", before))
		} else if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "consumer.points.adjust",
			ObjectType: "consumer.member", ObjectID: consumerID.String(),
			Before: map[string]any{"balance": before}, After: map[string]any{"balance": after, "delta": delta, "reason": reason}})
	})
	return wrap("adjust points", err)
}

// MyLedger is the member's own entries, newest first (consumerID is the
// authenticated consumer: a consumer sees only themself).
func (s *Service) MyLedger(ctx context.Context, consumerID, before uuid.UUID, limit int) ([]Entry, error) {
	return s.ledger(ctx, consumerID, before, limit)
}

// Ledger is a member's entries for the staff caller in ctx (consumer.member.read at
// scope all; anyone else gets not found).
func (s *Service) Ledger(ctx context.Context, caller *identity.Principal, consumerID, before uuid.UUID, limit int) ([]Entry, error) {
	if _, err := memberScope(caller, identity.PermMemberRead); err != nil {
		return nil, err
	}
	return s.ledger(ctx, consumerID, before, limit)
}

func (s *Service) ledger(ctx context.Context, consumerID, before uuid.UUID, limit int) ([]Entry, error) {
	if _, err := s.balance(ctx, consumerID); err != nil {
		return nil, err
	}
	rows, err := consumerdb.New(s.db).ListEntries(ctx, consumerdb.ListEntriesParams{ConsumerID: consumerID, Before: before, Lim: pg.PageLimit(limit)})
	if err != nil {
		return nil, wrap("ledger", err)
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = Entry{ID: r.ID, Delta: int64(r.Delta), Kind: r.Kind, SourceKey: r.SourceKey, CreatedAt: r.CreatedAt}
		if r.OrderID.Valid {
			id := r.OrderID.UUID
			out[i].OrderID = &id
		}
	}
	return out, nil
}
