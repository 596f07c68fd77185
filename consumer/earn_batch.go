package consumer

import (
	"context"
	"errors"
	"math"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/logging"
)

// onPaymentsEarn credits a batch of payments' points in the batch's delivery
// transaction (the dispatcher closes the deliveries in it, so each payment is credited
// once; EarnKey makes a repeat harmless anyway). Per batch, not per payment: the
// members' points rows are locked in one statement (in one order), and the program,
// the members' tiers and the tier rules are read once. When the program holds earned
// points for its refund window (the usual case), a credit moves no tier, so the whole
// batch is one more statement (CreditEarnLots). Otherwise each payment is one statement
// (CreditLot), and a member's tier is read again after a credit made or moved it, so
// the next payment of the batch earns at the new multiplier exactly as one at a time.
func (s *Service) onPaymentsEarn(ctx context.Context, tx pgx.Tx, es []events.Envelope) error {
	ps, err := decodePayments(es)
	if err != nil {
		return err
	}
	ids := make([]uuid.UUID, len(ps))
	for i, p := range ps {
		ids[i] = p.ConsumerID
	}
	q := consumerdb.New(tx)
	locked, err := q.LockBalances(ctx, ids)
	if err != nil {
		return wrap("credit for payments", err)
	}
	members := make(map[uuid.UUID]bool, len(locked))
	for _, id := range locked {
		members[id] = true
	}
	var pays []Payment
	var requestIDs []string
	for i, p := range ps {
		if !members[p.ConsumerID] {
			s.log.InfoContext(logging.WithRequestID(ctx, es[i].RequestID), "consumer: payment by a non-member earns no points",
				"consumer", p.ConsumerID, "order", p.OrderID)
			continue
		}
		pays = append(pays, Payment{OrderID: p.OrderID, ConsumerID: p.ConsumerID, AmountFen: p.AmountFen})
		requestIDs = append(requestIDs, es[i].RequestID)
	}
	if len(pays) == 0 {
		return nil
	}
	prog, err := s.program(ctx, q)
	if err != nil {
		return wrap("credit for payments", err)
	}
	rows, err := q.MemberTiersOf(ctx, locked)
	if err != nil {
		return wrap("credit for payments", err)
	}
	t := memberTiers{s: s, q: q, rows: make(map[uuid.UUID]consumerdb.ConsumerMemberTier, len(rows))}
	for _, r := range rows {
		t.rows[r.ConsumerID] = r
	}
	if prog.PendingDays > 0 {
		held, err := s.creditHeld(ctx, q, prog, &t, pays)
		if err != nil || held {
			return wrap("credit for payments", err)
		}
		// The program stopped holding points since it was read: one at a time.
	}
	for i, p := range pays {
		if err := s.creditOne(logging.WithRequestID(ctx, requestIDs[i]), q, prog, &t, p); err != nil {
			return wrap("credit for payments", err)
		}
	}
	return nil
}

// creditHeld credits pays, pending for the program's refund window, in one statement;
// false (nothing written) when the program no longer holds points.
func (s *Service) creditHeld(ctx context.Context, q *consumerdb.Queries, prog Program, t *memberTiers, pays []Payment) (bool, error) {
	in := consumerdb.CreditEarnLotsParams{At: s.now()}
	for _, p := range pays {
		mult, err := t.multiplier(ctx, p.ConsumerID)
		if err != nil {
			return false, err
		}
		c, err := paymentCredit(p, prog, mult)
		if err != nil {
			return false, err
		}
		if c.points < 0 {
			return false, errs.Invalidf("amount", "a payment earns 0 to %d points", math.MaxInt32)
		}
		in.ConsumerIds, in.EntryIds, in.LotIds = append(in.ConsumerIds, p.ConsumerID), append(in.EntryIds, s.newID()), append(in.LotIds, s.newID())
		in.Points, in.SourceKeys = append(in.Points, int32(c.points)), append(in.SourceKeys, c.key)
		in.OrderIds, in.Growths = append(in.OrderIds, p.OrderID), append(in.Growths, c.growth)
	}
	r, err := q.CreditEarnLots(ctx, in)
	return r.Held, err
}

// creditOne credits one payment of the batch at the member's multiplier now, and reads
// the member's tier again when the credit made or moved it.
func (s *Service) creditOne(ctx context.Context, q *consumerdb.Queries, prog Program, t *memberTiers, p Payment) error {
	mult, err := t.multiplier(ctx, p.ConsumerID)
	if err != nil {
		return err
	}
	c, err := paymentCredit(p, prog, mult)
	if err != nil {
		return err
	}
	_, moved, err := s.creditLot(ctx, q, c)
	if err != nil || !moved {
		return err
	}
	return t.reread(ctx, p.ConsumerID)
}

// memberTiers is members' tier rows (a batch's, or one member's) and the tier rules,
// read once.
type memberTiers struct {
	s     *Service
	q     *consumerdb.Queries
	rows  map[uuid.UUID]consumerdb.ConsumerMemberTier
	rules *TierProgram
}

// multiplier is the points multiplier of the member's tier, in percent, from the rows
// read: 100 for a member with no tier row yet.
func (t *memberTiers) multiplier(ctx context.Context, id uuid.UUID) (int64, error) {
	r, ok := t.rows[id]
	if !ok {
		return 100, nil
	}
	if t.rules == nil {
		rules, err := t.s.tierProgram(ctx, t.q)
		if err != nil {
			return 0, err
		}
		t.rules = &rules
	}
	return int64(t.rules.tier(t.s.effectiveLevel(r)).MultiplierPct), nil
}

// reread reads a member's tier row (again, after a credit made or moved it).
func (t *memberTiers) reread(ctx context.Context, id uuid.UUID) error {
	r, err := t.q.GetMemberTier(ctx, id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		delete(t.rows, id)
	case err != nil:
		return err
	default:
		t.rows[id] = r
	}
	return nil
}
