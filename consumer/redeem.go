package consumer

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/logging"
)

// debit takes points from the member's spendable lots.
type debit struct {
	consumerID uuid.UUID
	entryKind  string // redeem, adjust; "" writes no entry (the caller writes its own)
	debitKind  string // redeem, adjust, reverse; defaults to entryKind
	key        string
	orderID    uuid.NullUUID
	points     int64
	reason     string
	partial    bool // take what there is instead of refusing
}

// draw is the part of one lot a debit takes.
type draw struct {
	lot     uuid.UUID
	points  int64
	expires time.Time
}

// drawLots takes a debit's plan from its lots and records each part, in one statement.
func drawLots(ctx context.Context, q *consumerdb.Queries, debitID uuid.UUID, plan []draw) error {
	p := consumerdb.DrawLotsParams{DebitID: debitID, Lots: make([]uuid.UUID, len(plan)), Points: make([]int32, len(plan))}
	for i, d := range plan {
		p.Lots[i], p.Points[i] = d.lot, int32(d.points)
	}
	return q.DrawLots(ctx, p)
}

// planDraw picks the lots a debit of want points draws from: soonest-expiring first,
// never a lot past its expiry (even before the expiry job has run). The lots are
// locked; the caller holds the member's row. except names a lot not to draw from.
func (s *Service) planDraw(ctx context.Context, q *consumerdb.Queries, consumerID uuid.UUID, want int64, except uuid.UUID) ([]draw, int64, error) {
	lots, err := q.SpendableLots(ctx, consumerdb.SpendableLotsParams{ConsumerID: consumerID, Now: s.now(), SkipLot: except})
	if err != nil {
		return nil, 0, err
	}
	var plan []draw
	var got int64
	for _, l := range lots {
		if got == want {
			break
		}
		take := min(int64(l.Remaining), want-got)
		plan = append(plan, draw{lot: l.ID, points: take, expires: l.ExpiresAt})
		got += take
	}
	return plan, got, nil
}

// debit draws d.points (all or, when partial, what there is) once per key and
// reports whether this call did. It refuses with consumer.points_insufficient,
// changing nothing, when the lots hold less and the debit is not partial.
func (s *Service) debit(ctx context.Context, q *consumerdb.Queries, d debit) (bool, error) {
	_, _, taken, err := s.debitTaking(ctx, q, d)
	return taken > 0, err
}

// debitTaking is debit, saying also the debit's id and the lots it drew from.
func (s *Service) debitTaking(ctx context.Context, q *consumerdb.Queries, d debit) (uuid.UUID, []draw, int64, error) {
	plan, got, err := s.planDraw(ctx, q, d.consumerID, d.points, uuid.Nil)
	if err != nil {
		return uuid.Nil, nil, 0, err
	}
	if got < d.points && !d.partial {
		return uuid.Nil, nil, 0, insufficient(got, d.points)
	}
	if got == 0 {
		return uuid.Nil, nil, 0, nil
	}
	now := s.now()
	if d.entryKind != "" {
		n, err := q.InsertLedgerEntry(ctx, consumerdb.InsertLedgerEntryParams{ID: s.newID(), ConsumerID: d.consumerID,
			Delta: int32(-got), Kind: d.entryKind, SourceKey: d.key, OrderID: d.orderID, CreatedAt: now, Reason: d.reason})
		if err != nil || n == 0 {
			return uuid.Nil, nil, 0, err
		}
	}
	kind := d.debitKind
	if kind == "" {
		kind = d.entryKind
	}
	id := s.newID()
	if err := q.InsertDebit(ctx, consumerdb.InsertDebitParams{ID: id, ConsumerID: d.consumerID, SourceKey: d.key,
		Kind: kind, OrderID: d.orderID, Points: int32(got), Reason: d.reason, CreatedAt: now}); err != nil {
		return uuid.Nil, nil, 0, err
	}
	if err := drawLots(ctx, q, id, plan); err != nil {
		return uuid.Nil, nil, 0, err
	}
	return id, plan, got, s.move(ctx, q, d.consumerID, points{balance: -got})
}

// RedeemRequest spends a member's points. Key makes it happen once (a repeat with
// the same key answers the first redemption); OrderID links it to an order paid
// partly with points, whose refunds give the points back.
type RedeemRequest struct {
	Points  int64      `json:"points"`
	Key     string     `json:"key"`
	OrderID *uuid.UUID `json:"order_id,omitempty"`
	Reason  string     `json:"reason,omitempty"`
}

// Validate refuses a request naming the field.
func (r RedeemRequest) Validate() error {
	switch {
	case r.Points <= 0 || r.Points > math.MaxInt32:
		return errs.Invalidf("points", "redeem 1 to %d points", math.MaxInt32)
	case r.Key == "" || len(r.Key) > 100:
		return errs.Invalidf("key", "key is 1 to 100 characters, unique per redemption")
	case len(r.Reason) > 200:
		return errs.Invalidf("reason", "reason is at most 200 characters")
	}
	return nil
}

// Redemption is a debit and the lots it drew from.
type Redemption struct {
	ID        uuid.UUID  `json:"id"`
	Points    int64      `json:"points"`
	OrderID   *uuid.UUID `json:"order_id,omitempty"`
	Draws     []Draw     `json:"draws"`
	CreatedAt time.Time  `json:"created_at"`
}

// Draw is what a redemption took from one lot.
type Draw struct {
	LotID     uuid.UUID `json:"lot_id"`
	Points    int64     `json:"points"`
	Returned  int64     `json:"returned"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Redeem spends the member's points, soonest-expiring lots first, once per key.
// Concurrent redemptions of one member serialise on the member's points row, so they
// never overdraw: each either takes all it asks for or is refused with
// consumer.points_insufficient, taking nothing. consumerID is the authenticated
// consumer (the mini-program) or a member the caller has already authorised.
func (s *Service) Redeem(ctx context.Context, consumerID uuid.UUID, in RedeemRequest) (Redemption, error) {
	if err := in.Validate(); err != nil {
		return Redemption{}, err
	}
	key := "redeem:" + consumerID.String() + ":" + in.Key
	var order uuid.NullUUID
	if in.OrderID != nil {
		if err := s.checkOrder(ctx, consumerID, *in.OrderID); err != nil {
			return Redemption{}, err
		}
		order = uuid.NullUUID{UUID: *in.OrderID, Valid: true}
	}
	// One statement, committed on its own: no transaction round trips (bench loyalty).
	var r consumerdb.RedeemLotsRow
	var id uuid.UUID
	var at time.Time
	q := consumerdb.New(s.db)
	err := retrying(ctx, func() error {
		event, payload, err := s.balanceEvent(ctx, consumerID)
		if err != nil {
			return err
		}
		id, at = s.newID(), s.now()
		r, err = q.RedeemLots(ctx, consumerdb.RedeemLotsParams{ConsumerID: consumerID, At: at, Points: int32(in.Points),
			DebitID: id, EntryID: s.newID(), EventID: event, SourceKey: key, OrderID: order, Reason: in.Reason,
			Topic: string(events.TopicPointsBalanceChanged), Payload: payload, RequestID: logging.RequestID(ctx)})
		return err
	})
	switch {
	case err != nil:
		return Redemption{}, wrap("redeem", err)
	case !r.Member:
		return Redemption{}, errs.NotFound(objMember)
	case !r.Redeemed:
		// the key was used (answer the first redemption), or the lots hold too little
		if _, err := q.GetDebitByKey(ctx, key); errors.Is(err, pgx.ErrNoRows) {
			return Redemption{}, insufficient(r.Spendable, in.Points)
		}
		return s.redemption(ctx, consumerID, key)
	}
	s.waker.Wake(ctx)
	// What this call did is known: no reading it back.
	out := Redemption{ID: id, Points: in.Points, OrderID: in.OrderID, CreatedAt: at, Draws: make([]Draw, len(r.Lots))}
	for i := range r.Lots {
		out.Draws[i] = Draw{LotID: r.Lots[i], Points: int64(r.Takes[i]), ExpiresAt: r.Expiries[i]}
	}
	return out, nil
}

// checkOrder refuses an order that does not exist or is another consumer's, before
// anything is written: points spent against it would come back on none of its refunds.
func (s *Service) checkOrder(ctx context.Context, consumerID, orderID uuid.UUID) error {
	if s.orders == nil {
		return nil
	}
	ok, err := s.orders.OwnsOrder(ctx, consumerID, orderID)
	if err != nil {
		return wrap("redeem: order", err)
	}
	if !ok {
		return errs.E(errs.KindUnprocessable, CodeOrderUnknown, "no such order of yours: points are redeemed against your own orders").WithField("order_id")
	}
	return nil
}

func (s *Service) redemption(ctx context.Context, consumerID uuid.UUID, key string) (Redemption, error) {
	q := consumerdb.New(s.db)
	d, err := q.GetDebitByKey(ctx, key)
	if err != nil {
		return Redemption{}, wrap("redemption", err)
	}
	if d.ConsumerID != consumerID {
		return Redemption{}, errs.NotFound(objMember)
	}
	r := Redemption{ID: d.ID, Points: int64(d.Points), CreatedAt: d.CreatedAt, Draws: []Draw{}}
	if d.OrderID.Valid {
		o := d.OrderID.UUID
		r.OrderID = &o
	}
	draws, err := q.DebitDraws(ctx, d.ID)
	if err != nil {
		return Redemption{}, wrap("redemption draws", err)
	}
	for _, dr := range draws {
		r.Draws = append(r.Draws, Draw{LotID: dr.LotID, Points: int64(dr.Points), Returned: int64(dr.Returned), ExpiresAt: dr.ExpiresAt})
	}
	return r, nil
}
