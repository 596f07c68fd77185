package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/logging"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Entry kinds: every change of a member's points is one entry; their sum is the
// member's balance plus pending points.
const (
	KindEarn    = "earn"    // a payment earned a lot (pending for the refund window)
	KindReverse = "reverse" // a refund took back what the order earned
	KindAdjust  = "adjust"  // staff, with a reason
	KindAction  = "action"  // sign-up, referral, review, a campaign: CreditPoints
	KindRedeem  = "redeem"  // spent
	KindExpire  = "expire"  // lots reached their expiry
	KindReturn  = "return"  // a refund gave back points the order had spent
)

// Lot states.
const (
	LotPending = "pending" // earned by a payment still inside its refund window
	LotActive  = "active"
)

// Entry is one immutable points entry.
type Entry struct {
	ID        uuid.UUID  `json:"id"`
	Delta     int64      `json:"delta"`
	Kind      string     `json:"kind"`
	SourceKey string     `json:"source_key"`
	OrderID   *uuid.UUID `json:"order_id,omitempty"`
	// Forgiven is, on a reversal, what the refunded order's points the member had
	// already spent and no longer had: not taken, reported (README, points policies).
	Forgiven  int64     `json:"forgiven,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Payment is a paid order, as billing's event tells it.
type Payment struct {
	OrderID    uuid.UUID
	ConsumerID uuid.UUID
	AmountFen  int64 // what the consumer paid in money: the earning base
}

// Source keys: every entry, lot and debit happens once per key.
func EarnKey(orderID uuid.UUID) string        { return "order:" + orderID.String() + ":earn" }
func ReverseKey(refundID uuid.UUID) string    { return "refund:" + refundID.String() + ":reverse" }
func ReturnKey(refundID uuid.UUID) string     { return "refund:" + refundID.String() + ":return" }
func refundDrawKey(refundID uuid.UUID) string { return "refund:" + refundID.String() + ":draw" }

var errNotMember = errors.New("consumer: not a member")

// points is the projection's change of one operation.
type points struct{ balance, pending, earned int64 }

// move applies a change to the member's projection (its row is locked by the caller).
func (s *Service) move(ctx context.Context, q *consumerdb.Queries, consumerID uuid.UUID, d points) error {
	if d == (points{}) {
		return nil
	}
	r, err := q.MovePoints(ctx, consumerdb.MovePointsParams{Balance: d.balance, Pending: d.pending, Earned: d.earned,
		At: s.now(), ConsumerID: consumerID})
	if err != nil || d.balance == 0 {
		return err
	}
	return s.publishBalance(ctx, q, consumerID, r.Balance)
}

// lock takes the member's points row: every writer of a member's points holds it
// first, then their lots, so concurrent redemptions, refunds and the jobs serialise
// per member and never deadlock.
func lock(ctx context.Context, q *consumerdb.Queries, consumerID uuid.UUID) (consumerdb.LockPointsRow, error) {
	row, err := q.LockPoints(ctx, consumerID)
	if errors.Is(err, pgx.ErrNoRows) {
		return row, errNotMember
	}
	return row, err
}

// credit writes an entry and its lot once per key; false when the key was used.
type credit struct {
	consumerID uuid.UUID
	entryKind  string
	lotKind    string
	key        string
	orderID    uuid.NullUUID
	points     int64
	pending    bool  // inside the refund window
	counts     bool  // toward tiers (payments and actions, not staff adjustments)
	growth     int64 // fen a payment adds to the growth value
	reason     string
}

func (s *Service) credit(ctx context.Context, q *consumerdb.Queries, c credit) (bool, error) {
	done, _, err := s.creditLot(ctx, q, c)
	return done, err
}

// creditLot is credit, also saying whether the member's tier row was made or moved up
// (tierMoved), so that a caller holding their tier for a batch reads it again.
func (s *Service) creditLot(ctx context.Context, q *consumerdb.Queries, c credit) (done, tierMoved bool, err error) {
	if c.points > math.MaxInt32 || c.points < 0 {
		return false, false, errs.Invalidf("points", "a credit is 0 to %d points", math.MaxInt32)
	}
	event, payload, err := s.balanceEvent(ctx, c.consumerID)
	if err != nil {
		return false, false, err
	}
	p := consumerdb.CreditLotParams{ConsumerID: c.consumerID, EntryID: s.newID(), LotID: s.newID(), EventID: event,
		Points: int32(c.points), EntryKind: c.entryKind, LotKind: c.lotKind, SourceKey: c.key, OrderID: c.orderID,
		Pending: c.pending, Counts: c.counts, Growth: c.growth, Reason: c.reason, At: s.now(),
		Topic: string(events.TopicPointsBalanceChanged), Payload: payload, RequestID: logging.RequestID(ctx)}
	r, err := q.CreditLot(ctx, p)
	if err == nil && r.Member && !r.TierReady { // the member's first metric: their tier row is made first
		tierMoved = true
		if _, err = s.memberTier(ctx, q, c.consumerID); err == nil {
			r, err = q.CreditLot(ctx, p)
		}
	}
	switch {
	case err != nil:
		return false, false, err
	case !r.Member:
		return false, false, errNotMember
	}
	if r.Published {
		if q.Tx() == nil { // committed: the statement ran on its own
			s.waker.Wake(ctx)
		} else if err := outbox.Wake(ctx, q.Tx(), s.db); err != nil {
			return false, false, err
		}
	}
	if r.Upgrade { // rare: the cheap test in the statement said a higher tier is reached
		tierMoved = true
		if err := s.inTx(ctx, q, func(q *consumerdb.Queries) error { return s.upgrade(ctx, q, c.consumerID) }); err != nil {
			return false, false, err
		}
	}
	return r.Credited, tierMoved, nil
}

// balanceEvent is a balance event's id and payload for a one-statement change, which
// writes the event itself with the balance it makes.
func (s *Service) balanceEvent(_ context.Context, consumerID uuid.UUID) (uuid.UUID, []byte, error) {
	body, err := json.Marshal(events.PointsBalanceChanged{ConsumerID: consumerID, ChangedAt: s.now()})
	if err != nil {
		return uuid.Nil, nil, err
	}
	return s.newID(), body, nil
}

// inTx runs fn in q's transaction, or in a new one when q runs on the pool.
func (s *Service) inTx(ctx context.Context, q *consumerdb.Queries, fn func(q *consumerdb.Queries) error) error {
	if q.Tx() != nil {
		return fn(q)
	}
	return pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error { return fn(consumerdb.New(tx)) })
}

// retrying runs a one-statement change again when PostgreSQL aborted it (a deadlock
// or serialization failure), as pg.InTx does a transaction; the statement wrote
// nothing, and its key makes a repeat harmless.
func retrying(ctx context.Context, fn func() error) error {
	backoff := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !pg.IsRetryable(err) || attempt >= 5 {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (after %d attempts: %w)", ctx.Err(), attempt, err)
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// CreditForPayment credits the points an order earns, exactly once per order however
// often (and however concurrently) it is called: a lot, pending for the program's
// refund window, expiring by the program's rule. It returns the points credited by
// this call (0 for a repeat). A consumer who is not a member earns nothing.
func (s *Service) CreditForPayment(ctx context.Context, p Payment) (int64, error) {
	var credited int64
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		credited, err = s.creditForPayment(ctx, tx, p)
		return err
	})
	return credited, wrap("credit for payment", err)
}

// creditForPayment is CreditForPayment in the caller's transaction (the payment
// event's delivery, which closes with the credit: one commit).
func (s *Service) creditForPayment(ctx context.Context, tx pgx.Tx, p Payment) (int64, error) {
	q := consumerdb.New(tx)
	if _, err := lock(ctx, q, p.ConsumerID); errors.Is(err, errNotMember) {
		s.log.InfoContext(ctx, "consumer: payment by a non-member earns no points", "consumer", p.ConsumerID, "order", p.OrderID)
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	prog, err := s.program(ctx, q)
	if err != nil {
		return 0, err
	}
	mult, err := s.multiplier(ctx, q, p.ConsumerID)
	if err != nil {
		return 0, err
	}
	c, err := paymentCredit(p, prog, mult)
	if err != nil {
		return 0, err
	}
	ok, err := s.credit(ctx, q, c)
	if err != nil || !ok {
		return 0, err
	}
	return c.points, nil
}

// paymentCredit is the credit a payment earns under prog at the member's tier
// multiplier (percent): pending for the refund window, counted toward tiers.
func paymentCredit(p Payment, prog Program, multiplierPct int64) (credit, error) {
	pts := prog.PointsFor(p.AmountFen) * multiplierPct / 100
	if pts > math.MaxInt32 {
		return credit{}, errs.Invalidf("amount", "amount earns more points than an entry holds")
	}
	return credit{consumerID: p.ConsumerID, entryKind: KindEarn, lotKind: KindEarn, key: EarnKey(p.OrderID),
		orderID: uuid.NullUUID{UUID: p.OrderID, Valid: true}, points: pts, pending: true, counts: true, growth: p.AmountFen}, nil
}

// CreditRequest credits points for something the member did (sign-up, referral,
// review) or a campaign gave: one active lot, expiring by the program's rule, counted
// toward tiers. SourceKey makes it happen once ("campaign:<id>:<member>").
type CreditRequest struct {
	ConsumerID uuid.UUID
	Points     int64
	SourceKey  string
	Reason     string
}

// CreditPoints credits points once per SourceKey and reports whether this call did.
// It is the published way for other parts (consumer/marketing's campaigns) to give
// points; it takes no caller because it acts on the platform's own decision.
func (s *Service) CreditPoints(ctx context.Context, in CreditRequest) (bool, error) {
	switch {
	case in.Points <= 0 || in.Points > math.MaxInt32:
		return false, errs.Invalidf("points", "a credit is 1 to %d points", math.MaxInt32)
	case in.SourceKey == "" || len(in.SourceKey) > 200:
		return false, errs.Invalidf("source_key", "a credit needs a source key of 1 to 200 characters")
	}
	// One statement, committed on its own: no transaction round trips (bench loyalty).
	var done bool
	err := retrying(ctx, func() error {
		var err error
		done, err = s.credit(ctx, consumerdb.New(s.db), credit{consumerID: in.ConsumerID, entryKind: KindAction, lotKind: KindAction,
			key: "action:" + in.SourceKey, points: in.Points, counts: true, reason: in.Reason})
		return err
	})
	if errors.Is(err, errNotMember) {
		return false, errs.NotFound(objMember)
	}
	return done, wrap("credit points", err)
}

// KindAdjustApproval is the approval kind of a staff adjustment over the program's
// limit (shared/approval).
const KindAdjustApproval = "consumer.points_adjustment"

// Adjustment is what became of a staff adjustment: applied, or waiting for another's
// approval because it is over the program's limit.
type Adjustment struct {
	Applied    bool      `json:"applied"`
	ApprovalID uuid.UUID `json:"approval_id,omitzero"`
}

// adjustPayload is an adjustment waiting for approval, as the approval carries it.
type adjustPayload struct {
	ConsumerID uuid.UUID `json:"consumer_id"`
	Delta      int64     `json:"delta"`
	Key        string    `json:"key"`
	Reason     string    `json:"reason"`
}

// Adjust adds (or, negative, takes, soonest-expiring lots first) points by hand:
// consumer.points.adjust at scope all, audited, once per key. An added adjustment is
// an active lot that does not count toward tiers. An adjustment of more points than
// the program's AdjustLimit (either way) is not applied but asked for approval
// (another holder of consumer.points.adjust decides; approved, it is applied in the
// deciding transaction), when the service has the approval flow.
func (s *Service) Adjust(ctx context.Context, caller *identity.Principal, consumerID uuid.UUID, delta int64, key, reason string) (Adjustment, error) {
	p, err := memberScope(caller, identity.PermPointsAdjust)
	if err != nil {
		return Adjustment{}, err
	}
	if delta == 0 || delta > math.MaxInt32 || delta < -math.MaxInt32 {
		return Adjustment{}, errs.Invalidf("delta", "an adjustment is a non-zero number of points")
	}
	if key == "" || reason == "" {
		return Adjustment{}, errs.Invalidf("reason", "an adjustment needs a key and a reason")
	}
	var out Adjustment
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		out = Adjustment{}
		q := consumerdb.New(tx)
		prog, err := s.program(ctx, q)
		if err != nil {
			return err
		}
		if s.approvals == nil || max(delta, -delta) <= prog.AdjustLimit {
			out.Applied = true
			return s.applyAdjust(ctx, tx, p.Actor(), adjustPayload{ConsumerID: consumerID, Delta: delta, Key: key, Reason: reason})
		}
		bal, err := lock(ctx, q, consumerID)
		if errors.Is(err, errNotMember) {
			return errs.NotFound(objMember)
		} else if err != nil {
			return err
		}
		if delta < 0 && bal.Balance < -delta { // nothing to ask about: it could not be applied
			return insufficient(bal.Balance, -delta)
		}
		r, err := s.approvals.Request(ctx, tx, p, approval.NewRequest{Kind: KindAdjustApproval,
			Subject:  approval.Subject{Type: objMember, ID: consumerID.String()},
			Title:    fmt.Sprintf("Points adjustment %+d (over the %d-point limit): %s", delta, prog.AdjustLimit, reason),
			Approver: identity.PermPointsAdjust, Payload: adjustPayload{ConsumerID: consumerID, Delta: delta, Key: key, Reason: reason}})
		out.ApprovalID = r.ID
		return err
	})
	return out, wrap("adjust points", err)
}

// decideAdjustment applies an approved adjustment in the deciding transaction; a
// rejected one changes nothing.
func (s *Service) decideAdjustment(ctx context.Context, tx pgx.Tx, r approval.Request) error {
	if r.State != approval.StateApproved {
		return nil
	}
	var a adjustPayload
	if err := json.Unmarshal(r.Payload, &a); err != nil {
		return fmt.Errorf("consumer: adjustment approval %s: %w", r.ID, err)
	}
	a.Reason += " (approved by " + r.DecidedByLogin + ")"
	return s.applyAdjust(ctx, tx, audit.Actor{ID: r.RequestedBy, Login: r.RequestedByLogin}, a)
}

func (s *Service) applyAdjust(ctx context.Context, tx pgx.Tx, actor audit.Actor, a adjustPayload) error {
	q := consumerdb.New(tx)
	before, err := lock(ctx, q, a.ConsumerID)
	if errors.Is(err, errNotMember) {
		return errs.NotFound(objMember)
	} else if err != nil {
		return err
	}
	if a.Delta > 0 {
		ok, err := s.credit(ctx, q, credit{consumerID: a.ConsumerID, entryKind: KindAdjust, lotKind: KindAdjust,
			key: "adjust:" + a.Key, points: a.Delta, reason: a.Reason})
		if err != nil || !ok {
			return err
		}
	} else {
		ok, err := s.debit(ctx, q, debit{consumerID: a.ConsumerID, entryKind: KindAdjust, key: "adjust:" + a.Key,
			points: -a.Delta, reason: a.Reason})
		if err != nil || !ok {
			return err
		}
	}
	return audit.Record(ctx, tx, audit.Event{Actor: actor, Action: "consumer.points.adjust",
		ObjectType: objMember, ObjectID: a.ConsumerID.String(),
		Before: map[string]any{"balance": before.Balance}, After: map[string]any{"balance": before.Balance + a.Delta, "delta": a.Delta, "reason": a.Reason}})
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
		out[i] = Entry{ID: r.ID, Delta: int64(r.Delta), Kind: r.Kind, SourceKey: r.SourceKey, CreatedAt: r.CreatedAt,
			Forgiven: int64(r.Forgiven), Reason: r.Reason}
		if r.OrderID.Valid {
			id := r.OrderID.UUID
			out[i].OrderID = &id
		}
	}
	return out, nil
}

func insufficient(have, want int64) error {
	return errs.E(errs.KindUnprocessable, CodePointsInsufficient,
		fmt.Sprintf("%d points are spendable, %d short of %d", have, want-have, want)).
		WithParams("Spendable", have, "Short", want-have, "Wanted", want).WithField("points")
}
