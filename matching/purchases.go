package matching

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/matching/internal/matchingdb"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Subscriptions are matching's event handlers. A sign-in that shows two consumers sharing
// an identifier proposes their merge (identities.go). The others record their fact once (a unique key:
// the merchant, the order, the refunded total) and updates the aggregates in the same
// transaction, so redelivery and any order of arrival give the same record. A payment or
// a refund then recomputes the payer's recommendations (a replace, idempotent too).
// Payments come in batches (the worker's dispatcher): every payment of a batch is
// recorded at once, and each payer of the batch is recomputed once after them.
func (s *Service) Subscriptions() []outbox.Subscription {
	return []outbox.Subscription{
		{Topic: events.TopicMerchantLive, Subscriber: "matching.merchants", Handle: func(ctx context.Context, e events.Envelope) error {
			var p events.MerchantLive
			if err := e.Decode(&p); err != nil {
				return fmt.Errorf("matching: decode %s: %w", e.Topic, err)
			}
			return s.RecordMerchantLive(ctx, p)
		}},
		{Topic: events.TopicMerchantLive, Subscriber: "matching.shops", Handle: func(ctx context.Context, e events.Envelope) error {
			var p events.MerchantLive
			if err := e.Decode(&p); err != nil {
				return fmt.Errorf("matching: decode %s: %w", e.Topic, err)
			}
			return s.RecordShop(ctx, p)
		}},
		{Topic: events.TopicLeadCreated, Subscriber: "matching.shops", Handle: s.handleLead},
		{Topic: events.TopicLeadEdited, Subscriber: "matching.shops", Handle: s.handleLead},
		{Topic: events.TopicLeadArchived, Subscriber: "matching.shops", Handle: s.handleLead},
		{Topic: events.TopicLeadsImported, Subscriber: "matching.shops", Handle: func(ctx context.Context, e events.Envelope) error {
			var p events.LeadsImported
			if err := e.Decode(&p); err != nil {
				return fmt.Errorf("matching: decode %s: %w", e.Topic, err)
			}
			return s.RecordImportedLeads(ctx, p)
		}},
		{Topic: events.TopicConsumerIdentifierShared, Subscriber: "matching.identities", Handle: s.handleIdentifierShared},
		{Topic: events.TopicPaymentSucceeded, Subscriber: "matching.recommendations", HandleBatchTx: s.onPayments},
		{Topic: events.TopicRefundSucceeded, Subscriber: "matching.refunds", Handle: func(ctx context.Context, e events.Envelope) error {
			var p events.RefundSucceeded
			if err := e.Decode(&p); err != nil {
				return fmt.Errorf("matching: decode %s: %w", e.Topic, err)
			}
			if err := s.RecordRefund(ctx, p); err != nil {
				return err
			}
			_, err := s.Recompute(ctx, s.canonical(ctx, p.ConsumerID))
			return err
		}},
	}
}

// RecordMerchantLive keeps a live merchant's description (name, category, position).
func (s *Service) RecordMerchantLive(ctx context.Context, m events.MerchantLive) error {
	at := m.LiveAt
	if at.IsZero() {
		at = s.clock.Now()
	}
	err := matchingdb.New(s.db).UpsertLiveMerchant(ctx, matchingdb.UpsertLiveMerchantParams{MerchantID: m.MerchantID, Name: m.Name,
		Category: m.Category, City: m.City, Lat: m.Lat, Lng: m.Lng, LiveAt: at})
	if err != nil {
		return fmt.Errorf("matching: merchant %s: %w", m.MerchantID, pg.Classify(err))
	}
	return nil
}

// onPayments records a batch of payments and then recomputes each payer once, in the
// batch's delivery transaction: a consumer who paid ten times in a batch is ranked once,
// on all ten, and the batch's lists are stored at once (recomputeAll). The batch grows
// with the load, so the recomputes per payment fall as payments come faster, while a
// lone payment is still recomputed at once. Who each payment counts for (merges) is
// read, and every payer locked, once for the batch.
func (s *Service) onPayments(ctx context.Context, tx pgx.Tx, es []events.Envelope) error {
	q := matchingdb.New(tx)
	ps := make([]events.PaymentSucceeded, len(es))
	ids := make([]uuid.UUID, 0, len(es))
	for i, e := range es {
		if err := e.Decode(&ps[i]); err != nil {
			return fmt.Errorf("matching: decode %s: %w", e.Topic, err)
		}
		if !slices.Contains(ids, ps[i].ConsumerID) {
			ids = append(ids, ps[i].ConsumerID)
		}
	}
	merged, err := q.SurvivorsOf(ctx, ids)
	if err != nil {
		return fmt.Errorf("matching: payments: %w", pg.Classify(err))
	}
	buyers := make(map[uuid.UUID]buyer, len(ids))
	for _, id := range ids {
		buyers[id] = buyer{consumer: id}
	}
	for _, m := range merged {
		buyers[m.Merged] = buyer{consumer: m.Survivor, merge: m.ID}
	}
	var payers []uuid.UUID
	for _, id := range ids {
		if c := buyers[id].consumer; !slices.Contains(payers, c) {
			payers = append(payers, c)
		}
	}
	if err := lockConsumers(ctx, q, payers); err != nil {
		return fmt.Errorf("matching: payments: %w", pg.Classify(err))
	}
	var t tally
	if err := recordPayments(ctx, q, &t, ps, buyers, s.clock.Now()); err != nil {
		return err
	}
	if err := t.flush(ctx, q); err != nil {
		return fmt.Errorf("matching: payments: %w", pg.Classify(err))
	}
	_, err = s.recomputeAll(ctx, tx, payers, true)
	return err
}

// buyer is who a payment counts for: the survivor of a merge that stands (merge is its
// id), or the payer (merge is uuid.Nil).
type buyer struct {
	consumer, merge uuid.UUID
}

// RecordPayment records a paid order once, and with it: the consumer's record at the
// merchant, the merchant's buyers and orders, the co-purchase pairs (when the merchant is
// new to the consumer) and where the consumer buys.
func (s *Service) RecordPayment(ctx context.Context, p events.PaymentSucceeded) error {
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := matchingdb.New(tx)
		b := buyer{consumer: p.ConsumerID}
		if sv, err := q.SurvivorOf(ctx, p.ConsumerID); err == nil {
			b = buyer{consumer: sv.Survivor, merge: sv.ID}
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err := q.LockConsumer(ctx, b.consumer); err != nil {
			return err
		}
		var t tally
		if err := recordPayments(ctx, q, &t, []events.PaymentSucceeded{p}, map[uuid.UUID]buyer{p.ConsumerID: b}, s.clock.Now()); err != nil {
			return err
		}
		return t.flush(ctx, q)
	})
	if err != nil {
		return fmt.Errorf("matching: payment of order %s: %w", p.OrderID, pg.Classify(err))
	}
	return nil
}

// recordPayments is RecordPayment of payments in the caller's transaction, which holds
// the lock of each buyer (by payer), with what is summed over a batch left in t for its
// flush: the purchases are inserted at once, and each order recorded now (not before,
// not twice in the batch) is then counted in turn. A consumer merged into another buys
// as the survivor while the merge stands; the order is noted so that an undo gives it
// back. now dates a payment that tells no time.
func recordPayments(ctx context.Context, q *matchingdb.Queries, t *tally, ps []events.PaymentSucceeded, buyers map[uuid.UUID]buyer, now time.Time) error {
	in := matchingdb.InsertPurchasesParams{}
	ats := make([]time.Time, len(ps))
	for i, p := range ps {
		ats[i] = p.PaidAt
		if ats[i].IsZero() {
			ats[i] = now
		}
		in.OrderIds, in.ConsumerIds, in.MerchantIds = append(in.OrderIds, p.OrderID), append(in.ConsumerIds, buyers[p.ConsumerID].consumer), append(in.MerchantIds, p.MerchantID)
		in.AmountsFen, in.PaidAts = append(in.AmountsFen, p.AmountFen), append(in.PaidAts, ats[i])
	}
	recorded, err := q.InsertPurchases(ctx, in)
	if err != nil {
		return fmt.Errorf("matching: payments: %w", pg.Classify(err))
	}
	fresh := make(map[uuid.UUID]bool, len(recorded))
	for _, id := range recorded {
		fresh[id] = true
	}
	for i, p := range ps {
		if !fresh[p.OrderID] {
			continue // recorded before
		}
		delete(fresh, p.OrderID) // twice in the batch: counted once
		b := buyers[p.ConsumerID]
		if b.merge != uuid.Nil {
			if err := q.RecordMove(ctx, matchingdb.RecordMoveParams{MergeID: b.merge, OrderID: p.OrderID}); err != nil {
				return fmt.Errorf("matching: payment of order %s: %w", p.OrderID, pg.Classify(err))
			}
		}
		if err := addOrder(ctx, q, t, b.consumer, p.MerchantID, p.AmountFen, ats[i]); err != nil {
			return fmt.Errorf("matching: payment of order %s: %w", p.OrderID, pg.Classify(err))
		}
	}
	return nil
}

// addOrder counts one paid order in the consumer's record and the co-purchase pairs,
// and leaves the merchant's counts and the consumer's position to t's flush. The caller
// holds the consumer's lock (LockConsumer): payments of one consumer one after the
// other, each seeing the merchants the other added, so no co-purchase pair is missed.
func addOrder(ctx context.Context, q *matchingdb.Queries, t *tally, consumerID, merchantID uuid.UUID, netFen int64, at time.Time) error {
	added, err := q.AddConsumerMerchantWithOthers(ctx, matchingdb.AddConsumerMerchantWithOthersParams{ConsumerID: consumerID,
		MerchantID: merchantID, NetFen: netFen, At: at})
	if err != nil {
		return err
	}
	t.order(merchantID, added.New)
	if !added.New {
		return nil
	}
	if others := added.Others; len(others) > 0 {
		pg.SortUUIDs(others)
		if err := q.AddCoPurchases(ctx, matchingdb.AddCoPurchasesParams{MerchantID: merchantID, Others: others}); err != nil {
			return err
		}
	}
	t.moved(consumerID)
	return nil
}

// tally is what a batch of payments adds up to, written once per batch rather than per
// payment: paid orders and new buyers per merchant, and the consumers whose position
// (the centre of the merchants they tried) a new merchant moved. Nothing recorded in
// the batch reads them before the flush.
type tally struct {
	merchants []uuid.UUID
	counts    map[uuid.UUID]*[2]int32 // orders, new buyers
	consumers []uuid.UUID
}

func (t *tally) order(merchantID uuid.UUID, newBuyer bool) {
	if t.counts == nil {
		t.counts = map[uuid.UUID]*[2]int32{}
	}
	c := t.counts[merchantID]
	if c == nil {
		c = new([2]int32)
		t.counts[merchantID] = c
		t.merchants = append(t.merchants, merchantID)
	}
	c[0]++
	if newBuyer {
		c[1]++
	}
}

func (t *tally) moved(consumerID uuid.UUID) {
	if !slices.Contains(t.consumers, consumerID) {
		t.consumers = append(t.consumers, consumerID)
	}
}

// flush writes the merchants' counts (in merchant-id order, the order every batch locks
// their rows in) and then the moved consumers' positions.
func (t *tally) flush(ctx context.Context, q *matchingdb.Queries) error {
	if len(t.merchants) > 0 {
		pg.SortUUIDs(t.merchants)
		in := matchingdb.CountMerchantOrdersParams{MerchantIds: t.merchants}
		for _, m := range t.merchants {
			in.Orders, in.NewBuyers = append(in.Orders, t.counts[m][0]), append(in.NewBuyers, t.counts[m][1])
		}
		if err := q.CountMerchantOrders(ctx, in); err != nil {
			return err
		}
	}
	if len(t.consumers) == 0 {
		return nil
	}
	return q.RefreshConsumerPositions(ctx, t.consumers)
}

// errRefundBeforePayment makes the refund's delivery retry: its payment is on its way
// (both come from billing's outbox), and the refund only makes sense on top of it.
var errRefundBeforePayment = errors.New("matching: refund of an order whose payment is not recorded yet")

// RecordRefund records an order's refunded total. The event carries the total including
// this refund, so the record is the largest total seen, whatever the order of arrival;
// the net spent falls by the difference, and an order wholly refunded stops counting.
func (s *Service) RecordRefund(ctx context.Context, r events.RefundSucceeded) error {
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := matchingdb.New(tx)
		p, err := q.LockPurchase(ctx, r.OrderID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errRefundBeforePayment
		}
		if err != nil {
			return err
		}
		total := min(r.RefundedTotalFen, p.AmountFen)
		if total <= p.RefundedFen {
			return nil // an older or a repeated refund
		}
		if err := q.SetRefunded(ctx, matchingdb.SetRefundedParams{OrderID: p.OrderID, RefundedFen: total}); err != nil {
			return err
		}
		ordersDelta := int32(0)
		if total == p.AmountFen {
			ordersDelta = 1
		}
		// p.ConsumerID: whoever holds the order now (a merge may have moved it).
		return q.RefundConsumerMerchant(ctx, matchingdb.RefundConsumerMerchantParams{ConsumerID: p.ConsumerID, MerchantID: p.MerchantID,
			RefundDeltaFen: total - p.RefundedFen, OrdersDelta: ordersDelta})
	})
	if err != nil {
		return fmt.Errorf("matching: refund of order %s: %w", r.OrderID, pg.Classify(err))
	}
	return nil
}

// canonical is the consumer a consumer is merged into, or itself.
func (s *Service) canonical(ctx context.Context, consumerID uuid.UUID) uuid.UUID {
	if sv, err := matchingdb.New(s.db).SurvivorOf(ctx, consumerID); err == nil {
		return sv.Survivor
	}
	return consumerID
}

// handleLead keeps a lead created, edited or archived as a shop.
func (s *Service) handleLead(ctx context.Context, e events.Envelope) error {
	var p events.LeadChanged
	if err := e.Decode(&p); err != nil {
		return fmt.Errorf("matching: decode %s: %w", e.Topic, err)
	}
	return s.RecordLead(ctx, p)
}
