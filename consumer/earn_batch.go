package consumer

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/logging"
)

// onPaymentsEarn credits a batch of payments' points in the batch's delivery
// transaction (the dispatcher closes the deliveries in it, so each payment is credited
// once; EarnKey makes a repeat harmless anyway). Per batch, not per payment: the
// members' points rows are locked in one statement (in one order), and the program,
// the members' tiers and the tier rules are read once; a member's tier is read again
// after a credit made or moved it, so the next payment of the batch earns at the new
// multiplier exactly as one at a time. Each payment is then one statement (CreditLot).
func (s *Service) onPaymentsEarn(ctx context.Context, tx pgx.Tx, es []events.Envelope) error {
	ps, err := decodePayments(es)
	if err != nil {
		return err
	}
	pays := make([]Payment, len(ps))
	ids := make([]uuid.UUID, len(ps))
	for i, p := range ps {
		pays[i] = Payment{OrderID: p.OrderID, ConsumerID: p.ConsumerID, AmountFen: p.AmountFen}
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
	prog, err := s.program(ctx, q)
	if err != nil {
		return wrap("credit for payments", err)
	}
	rows, err := q.MemberTiersOf(ctx, locked)
	if err != nil {
		return wrap("credit for payments", err)
	}
	t := batchTiers{s: s, q: q, rows: make(map[uuid.UUID]consumerdb.ConsumerMemberTier, len(rows))}
	for _, r := range rows {
		t.rows[r.ConsumerID] = r
	}
	for i, p := range pays {
		ctx := logging.WithRequestID(ctx, es[i].RequestID)
		if !members[p.ConsumerID] {
			s.log.InfoContext(ctx, "consumer: payment by a non-member earns no points", "consumer", p.ConsumerID, "order", p.OrderID)
			continue
		}
		mult, err := t.multiplier(ctx, p.ConsumerID)
		if err != nil {
			return wrap("credit for payments", err)
		}
		c, err := paymentCredit(p, prog, mult)
		if err != nil {
			return wrap("credit for payments", err)
		}
		_, moved, err := s.creditLot(ctx, q, c)
		if err != nil {
			return wrap("credit for payments", err)
		}
		if moved {
			if err := t.reread(ctx, p.ConsumerID); err != nil {
				return wrap("credit for payments", err)
			}
		}
	}
	return nil
}

// batchTiers is a batch's members' tier rows and the tier rules, read once.
type batchTiers struct {
	s     *Service
	q     *consumerdb.Queries
	rows  map[uuid.UUID]consumerdb.ConsumerMemberTier
	rules *TierProgram
}

// multiplier is Service.multiplier from the batch's rows: 100 for a member with no
// tier row yet.
func (t *batchTiers) multiplier(ctx context.Context, id uuid.UUID) (int64, error) {
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

// reread reads a member's tier row again after a credit made or moved it.
func (t *batchTiers) reread(ctx context.Context, id uuid.UUID) error {
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
