package consumer

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Refund is a refund of an order, as billing's event tells it. RefundedTotalFen
// includes this refund.
type Refund struct {
	RefundID         uuid.UUID
	OrderID          uuid.UUID
	ConsumerID       uuid.UUID
	OrderAmountFen   int64
	RefundedTotalFen int64
	// Lines are every line of the order with what this refund gave back of each;
	// none for a refund billing recorded before refunds had lines.
	Lines []RefundLine
}

// RefundLine is a line of the refunded order: what was paid for it, what this refund
// gave back of it, and its refunded total including this refund.
type RefundLine struct {
	LineNo           int
	PaidFen          int64
	RefundFen        int64
	RefundedTotalFen int64
}

// RefundResult is what one refund did to the member's points.
type RefundResult struct {
	Reversed int64 // taken back of what the order earned
	Forgiven int64 // what the order earned that the member had already spent
	Returned int64 // points the order had spent, given back into their lots
}

// shareOf is the part of total that amount of whole bears, rounded down; all of it
// once nothing of whole remains.
func shareOf(total, part, whole int64) int64 {
	if whole <= 0 || part >= whole {
		return total
	}
	if part <= 0 {
		return 0
	}
	return total * part / whole
}

// ReverseForRefund applies a refund to the member's points, once per refund:
//
//   - Reversal by line: the points the order earned are split over its lines by
//     what was paid for each (largest remainder, the lower line first on a tie), and
//     the refund takes back the share of each line it refunded: a line refunded in
//     full gives back all its points; after a part of a line is refunded the line
//     keeps the share of its points that its unrefunded part bears, rounded down
//     (the rule of a refund without lines, applied per line), so a line's partial
//     refunds add up to exactly its points once it is all refunded. Each refund takes back its own
//     lines' share, so refunds arriving in any order add up, and never more than
//     the order earned less what was already taken back.
//   - A refund without lines (recorded before refunds had lines): after it the
//     order keeps the share of its earned points that its unrefunded amount bears
//     (rounded down), so partial refunds arriving in any order add up.
//   - The points come out of the order's own lot first (pending or
//     not); what was already spent of it comes out of the member's other spendable
//     lots, soonest-expiring first; what the member no longer has is forgiven and
//     reported on the entry (never a negative balance, never a debt).
//   - Return: the points the order spent (RedeemRequest.OrderID) come back in the
//     share the refunded amount bears (all on a full refund), into the lots they were
//     drawn from with their original expiry, latest-expiring first. Points returned
//     into a lot that has expired meanwhile expire at the expiry job's next run.
//
// When the order's earn entry is not there yet (events arrive in no order) it fails
// with consumer.earn_pending, and the delivery is retried.
func (s *Service) ReverseForRefund(ctx context.Context, r Refund) (int64, error) {
	res, err := s.ApplyRefund(ctx, r)
	return res.Reversed, err
}

// ApplyRefund is ReverseForRefund with everything the refund did.
func (s *Service) ApplyRefund(ctx context.Context, r Refund) (RefundResult, error) {
	var res RefundResult
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		res = RefundResult{}
		q := consumerdb.New(tx)
		if _, err := lock(ctx, q, r.ConsumerID); err != nil {
			return err
		}
		earned, err := q.OrderEarnEntry(ctx, EarnKey(r.OrderID))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.KindUnavailable, CodeEarnPending, "the order's points are not credited yet")
		} else if err != nil {
			return err
		}
		if err := s.refundGrowth(ctx, q, r); err != nil {
			return err
		}
		if err := s.reverse(ctx, q, r, int64(earned), &res); err != nil {
			return err
		}
		return s.giveBack(ctx, q, r, &res)
	})
	if errors.Is(err, errNotMember) {
		return RefundResult{}, nil
	}
	return res, wrap("apply refund", err)
}

// refundedLinesShare is the part of earned a refund of lines takes back: earned split
// over the lines by their paid amounts (largest remainder), and of each line what it
// kept before the refund less what it keeps after: the share of its points its
// unrefunded part bears, rounded down.
func refundedLinesShare(earned int64, lines []RefundLine) int64 {
	lines = slices.Clone(lines)
	slices.SortFunc(lines, func(a, b RefundLine) int { return cmp.Compare(a.LineNo, b.LineNo) })
	paid := make([]int64, len(lines))
	for i, l := range lines {
		paid[i] = max(l.PaidFen, 0)
	}
	pts := money.AllocateUnits(max(earned, 0), paid) // each line's share of the points, by what was paid for it
	var take int64
	for i, l := range lines {
		if l.RefundFen > 0 {
			left := l.PaidFen - l.RefundedTotalFen
			take += shareOf(pts[i], left+l.RefundFen, l.PaidFen) - shareOf(pts[i], left, l.PaidFen)
		}
	}
	return take
}

func (s *Service) reverse(ctx context.Context, q *consumerdb.Queries, r Refund, earned int64, res *RefundResult) error {
	order := uuid.NullUUID{UUID: r.OrderID, Valid: true}
	done, err := q.OrderReversals(ctx, order)
	if err != nil {
		return err
	}
	want := earned - shareOf(earned, r.OrderAmountFen-r.RefundedTotalFen, r.OrderAmountFen) - done.Reversed
	if len(r.Lines) > 0 {
		want = min(refundedLinesShare(earned, r.Lines), earned-done.Reversed)
	}
	if want <= 0 {
		return nil
	}
	lot, err := q.OrderLot(ctx, EarnKey(r.OrderID))
	if err != nil {
		return err // earned > 0 always has its lot
	}
	fromLot := min(want, int64(lot.Remaining))
	// What was spent of the order's lot comes out of the member's other lots.
	plan, fromOthers, err := s.planDraw(ctx, q, r.ConsumerID, want-fromLot, lot.ID)
	if err != nil {
		return err
	}
	forgiven := want - fromLot - fromOthers
	n, err := q.InsertLedgerEntry(ctx, consumerdb.InsertLedgerEntryParams{ID: s.newID(), ConsumerID: r.ConsumerID,
		Delta: int32(-(fromLot + fromOthers)), Kind: KindReverse, SourceKey: ReverseKey(r.RefundID), OrderID: order,
		CreatedAt: s.now(), Forgiven: int32(forgiven)})
	if err != nil || n == 0 {
		return err // reversed already
	}
	if fromLot > 0 {
		if err := q.ReverseLot(ctx, consumerdb.ReverseLotParams{Points: int32(fromLot), ID: lot.ID}); err != nil {
			return err
		}
	}
	d := points{balance: -fromLot}
	if lot.State == LotPending {
		d = points{pending: -fromLot}
	} else {
		d.earned = -want // the order's points no longer count toward tiers, spent or not
	}
	if err := s.move(ctx, q, r.ConsumerID, d); err != nil {
		return err
	}
	if lot.State == LotActive {
		if err := s.addMetric(ctx, q, r.ConsumerID, 0, -want); err != nil {
			return err
		}
	}
	if fromOthers > 0 {
		if err := s.applyDraw(ctx, q, r, plan, fromOthers); err != nil {
			return err
		}
	}
	res.Reversed, res.Forgiven = fromLot+fromOthers, forgiven
	return nil
}

// refundGrowth lowers the growth value the order's lot carries to its unrefunded
// amount, and the member's tier metric with it once the lot counts. Repeats change
// nothing: the lot keeps the lowest amount it was refunded to.
func (s *Service) refundGrowth(ctx context.Context, q *consumerdb.Queries, r Refund) error {
	lot, err := q.OrderLot(ctx, EarnKey(r.OrderID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // the order earned no points: nothing counted
	} else if err != nil {
		return err
	}
	left := max(r.OrderAmountFen-r.RefundedTotalFen, 0)
	if lot.Growth <= left {
		return nil
	}
	if err := q.SetLotGrowth(ctx, consumerdb.SetLotGrowthParams{ID: lot.ID, Growth: left}); err != nil {
		return err
	}
	if lot.State != LotActive {
		return nil
	}
	return s.addMetric(ctx, q, r.ConsumerID, left-lot.Growth, 0)
}

// applyDraw records what a reversal took from the member's other lots as a debit.
func (s *Service) applyDraw(ctx context.Context, q *consumerdb.Queries, r Refund, plan []draw, total int64) error {
	id := s.newID()
	if err := q.InsertDebit(ctx, consumerdb.InsertDebitParams{ID: id, ConsumerID: r.ConsumerID, SourceKey: refundDrawKey(r.RefundID),
		Kind: KindReverse, OrderID: uuid.NullUUID{UUID: r.OrderID, Valid: true}, Points: int32(total), CreatedAt: s.now(),
		Reason: "refund of points already spent"}); err != nil {
		return err
	}
	if err := drawLots(ctx, q, id, plan); err != nil {
		return err
	}
	return s.move(ctx, q, r.ConsumerID, points{balance: -total})
}

// giveBack returns the refunded share of the points the order spent.
func (s *Service) giveBack(ctx context.Context, q *consumerdb.Queries, r Refund, res *RefundResult) error {
	debits, err := q.OrderRedemptions(ctx, uuid.NullUUID{UUID: r.OrderID, Valid: true})
	if err != nil || len(debits) == 0 {
		return err
	}
	var spent, returned int64
	for _, d := range debits {
		spent += int64(d.Points)
		returned += int64(d.Returned)
	}
	give := shareOf(spent, r.RefundedTotalFen, r.OrderAmountFen) - returned
	if give <= 0 {
		return nil
	}
	n, err := q.InsertLedgerEntry(ctx, consumerdb.InsertLedgerEntryParams{ID: s.newID(), ConsumerID: r.ConsumerID,
		Delta: int32(give), Kind: KindReturn, SourceKey: ReturnKey(r.RefundID),
		OrderID: uuid.NullUUID{UUID: r.OrderID, Valid: true}, CreatedAt: s.now()})
	if err != nil || n == 0 {
		return err
	}
	left := give
	for _, d := range debits {
		draws, err := q.DebitDraws(ctx, d.ID)
		if err != nil {
			return err
		}
		var fromDebit int64
		for _, dr := range draws {
			g := min(left, int64(dr.Points-dr.Returned))
			if g <= 0 {
				continue
			}
			if err := q.ReturnToLot(ctx, consumerdb.ReturnToLotParams{Points: int32(g), ID: dr.LotID}); err != nil {
				return err
			}
			if err := q.MarkDrawReturned(ctx, consumerdb.MarkDrawReturnedParams{Points: int32(g), DebitID: d.ID, LotID: dr.LotID}); err != nil {
				return err
			}
			left -= g
			fromDebit += g
		}
		if fromDebit > 0 {
			if err := q.MarkDebitReturned(ctx, consumerdb.MarkDebitReturnedParams{Points: int32(fromDebit), ID: d.ID}); err != nil {
				return err
			}
		}
	}
	res.Returned = give
	return s.move(ctx, q, r.ConsumerID, points{balance: give})
}

// refundOf is billing's refund event as this domain applies it.
func refundOf(r events.RefundSucceeded) Refund {
	out := Refund{RefundID: r.RefundID, OrderID: r.OrderID, ConsumerID: r.ConsumerID,
		OrderAmountFen: r.OrderAmountFen, RefundedTotalFen: r.RefundedTotalFen}
	for _, l := range r.Lines {
		out.Lines = append(out.Lines, RefundLine{LineNo: l.LineNo, PaidFen: l.PaidFen, RefundFen: l.RefundFen, RefundedTotalFen: l.RefundedTotalFen})
	}
	return out
}
