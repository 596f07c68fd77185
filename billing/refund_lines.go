package billing

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/money"
)

// Refund by line: a refund names the order lines it gives back and how much of each,
// so that what a line earned (points) and what its coupon took off come back for
// exactly what was refunded. A line gives back at most what was paid for it (its
// amount less its coupon discount) over all its refunds that are not rejected or
// closed; the order's row lock serialises the check, so two refunds of one line at
// once never give back more than it.
//
// A refund that names no lines is spread over the order's lines pro rata to what is
// left to refund of each (largest remainder, the lower line first on a tie), so a
// refund of 10 % of an order gives back 10 % of each line it has not refunded yet.

// Error codes of a refund's lines.
const (
	CodeRefundLineUnknown = "billing.refund_line_unknown" // the order has no such line
	CodeRefundLineExceeds = "billing.refund_line_exceeds" // more than is left to refund of the line
	CodeRefundLinesSum    = "billing.refund_lines_sum"    // the amount is not the sum of the lines
)

// RefundLineRequest names a line a refund gives back. A zero Amount is what is left
// to refund of the line (its paid amount when nothing of it was refunded yet).
type RefundLineRequest struct {
	LineNo int
	Amount money.Money
}

// LineRefund is what a refund gives back of one line.
type LineRefund struct {
	LineNo int         `json:"line_no"`
	Amount money.Money `json:"amount"`
}

// validateLines checks what can be checked without the order.
func (r RefundRequest) validateLines() error {
	if len(r.Lines) > maxLines {
		return errs.Invalidf("lines", "at most %d lines", maxLines)
	}
	seen := make(map[int]bool, len(r.Lines))
	for i, l := range r.Lines {
		field := fmt.Sprintf("lines[%d].", i)
		switch {
		case l.LineNo < 1 || l.LineNo > maxLines:
			return errs.Invalidf(field+"line_no", "a line number from 1 to %d", maxLines)
		case seen[l.LineNo]:
			return errs.Invalidf(field+"line_no", "line %d is named twice", l.LineNo)
		case l.Amount.Sign() < 0 || l.Amount.Fen() > money.MaxPaymentFen:
			return errs.Invalidf(field+"amount_fen", "a line's amount is more than zero, or left out for all that is left of it")
		}
		seen[l.LineNo] = true
	}
	return nil
}

// planRefundLines is what a refund gives back of each of the order's lines (locked,
// with what earlier refunds reserved), and its amount: the lines named, each checked
// against what is left of it, or, with none named, the amount spread pro rata over
// what is left of each line. It refuses, changing nothing, a line the order does not
// have, more than is left of a line, and an amount that is not the lines' sum.
func planRefundLines(lines []billingdb.OrderLineRefundsRow, in RefundRequest, cur money.Currency) ([]LineRefund, money.Money, error) {
	left := make(map[int]int64, len(lines))
	for _, l := range lines {
		left[int(l.LineNo)] = max(l.AmountFen-l.DiscountFen-l.ReservedFen, 0)
	}
	if len(in.Lines) == 0 {
		return spreadRefund(lines, left, in.Amount)
	}
	plan := make([]LineRefund, 0, len(in.Lines))
	var sum int64
	for i, l := range in.Lines {
		room, ok := left[l.LineNo]
		if !ok {
			return nil, money.Money{}, errs.E(errs.KindUnprocessable, CodeRefundLineUnknown,
				fmt.Sprintf("the order has no line %d", l.LineNo)).WithField(fmt.Sprintf("lines[%d].line_no", i))
		}
		fen := l.Amount.Fen()
		if fen == 0 {
			fen = room
		}
		if fen == 0 || fen > room {
			return nil, money.Money{}, errs.E(errs.KindUnprocessable, CodeRefundLineExceeds,
				fmt.Sprintf("at most %s is left to refund of line %d", money.MustNew(room, cur), l.LineNo)).
				WithField(fmt.Sprintf("lines[%d].amount_fen", i))
		}
		plan = append(plan, LineRefund{LineNo: l.LineNo, Amount: money.MustNew(fen, cur)})
		sum += fen
	}
	if !in.Amount.IsZero() && in.Amount.Fen() != sum {
		return nil, money.Money{}, errs.E(errs.KindUnprocessable, CodeRefundLinesSum,
			fmt.Sprintf("the amount is the sum of the lines, %s; or leave it out", money.MustNew(sum, cur))).WithField("amount")
	}
	return plan, money.MustNew(sum, cur), nil
}

// spreadRefund spreads a refund that names no lines over what is left of each line,
// pro rata (money.Allocate: largest remainder, the lower line first on a tie). No
// line gets more than is left of it: each share is at most its exact share, which is
// at most what is left, and the amount is at most the lines' total (checked before).
func spreadRefund(lines []billingdb.OrderLineRefundsRow, left map[int]int64, amount money.Money) ([]LineRefund, money.Money, error) {
	var total int64
	weights := make([]decimal.Decimal, len(lines))
	for i, l := range lines {
		weights[i] = decimal.NewFromInt(left[int(l.LineNo)])
		total += left[int(l.LineNo)]
	}
	if total < amount.Fen() || total == 0 {
		return nil, money.Money{}, errs.E(errs.KindUnprocessable, CodeRefundExceeds,
			fmt.Sprintf("at most %s is left to refund", money.MustNew(total, amount.Currency())))
	}
	parts, err := money.Allocate(amount, weights)
	if err != nil {
		return nil, money.Money{}, err
	}
	plan := make([]LineRefund, 0, len(lines))
	for i, l := range lines {
		if parts[i].Sign() > 0 {
			plan = append(plan, LineRefund{LineNo: int(l.LineNo), Amount: parts[i]})
		}
	}
	return plan, amount, nil
}

// insertRefundLines records a new refund's lines.
func insertRefundLines(ctx context.Context, q *billingdb.Queries, ref billingdb.BillingRefund, plan []LineRefund) error {
	nos := make([]int32, len(plan))
	amounts := make([]int64, len(plan))
	for i, l := range plan {
		nos[i], amounts[i] = int32(l.LineNo), l.Amount.Fen()
	}
	return q.InsertRefundLines(ctx, billingdb.InsertRefundLinesParams{RefundID: ref.ID, OrderID: ref.OrderID, LineNos: nos, Amounts: amounts})
}

// refundableLines is the order's lines with what earlier refunds reserved, under the
// order's lock; an order placed before orders had lines gets its one line first.
func refundableLines(ctx context.Context, q *billingdb.Queries, o billingdb.BillingOrder) ([]billingdb.OrderLineRefundsRow, error) {
	lines, err := q.OrderLineRefunds(ctx, o.ID)
	if err != nil || len(lines) > 0 {
		return lines, err
	}
	if err := insertLines(ctx, q, o, nil); err != nil {
		return nil, err
	}
	return q.OrderLineRefunds(ctx, o.ID)
}

// sameLines reports whether a repeated request names the lines the refund has: the
// same line numbers, and the same amount where the request states one.
func sameLines(in []RefundLineRequest, have []billingdb.RefundLinesRow) bool {
	if len(in) == 0 {
		return true // the amount alone identifies it, as before lines
	}
	if len(in) != len(have) {
		return false
	}
	by := make(map[int]int64, len(have))
	for _, h := range have {
		by[int(h.LineNo)] = h.AmountFen
	}
	for _, l := range in {
		fen, ok := by[l.LineNo]
		if !ok || !l.Amount.IsZero() && l.Amount.Fen() != fen {
			return false
		}
	}
	return true
}

// lineWithoutRoom names the first line of the rejected refund ref of o (locked) that
// has no room left for it (other refunds took it meanwhile), "" when all have: a
// refund WeChat paid after we had rejected it is applied only within its lines.
func (s *Service) lineWithoutRoom(ctx context.Context, q *billingdb.Queries, o billingdb.BillingOrder, ref billingdb.BillingRefund) (string, error) {
	lines, err := q.OrderLineRefunds(ctx, o.ID)
	if err != nil {
		return "", err
	}
	mine, err := q.RefundLines(ctx, ref.ID)
	if err != nil {
		return "", err
	}
	left := make(map[int32]int64, len(lines))
	for _, l := range lines {
		left[l.LineNo] = l.AmountFen - l.DiscountFen - l.ReservedFen
	}
	for _, m := range mine {
		if m.AmountFen > left[m.LineNo] {
			return fmt.Sprintf("line %d has %d fen left to refund", m.LineNo, left[m.LineNo]), nil
		}
	}
	return "", nil
}

// eventLines are every line of the order for events.RefundSucceeded: what was paid
// for it, what this refund gave back of it, and its refunded total including this
// refund. None when the refund has no lines (one recorded before refunds had lines
// and never spread): subscribers then go by the order's amounts.
func eventLines(lines []billingdb.OrderLineRefundsRow, mine []billingdb.RefundLinesRow) []events.RefundLine {
	if len(mine) == 0 {
		return nil
	}
	by := make(map[int32]int64, len(mine))
	for _, m := range mine {
		by[m.LineNo] = m.AmountFen
	}
	out := make([]events.RefundLine, len(lines))
	for i, l := range lines {
		out[i] = events.RefundLine{LineNo: int(l.LineNo), PaidFen: l.AmountFen - l.DiscountFen, RefundFen: by[l.LineNo],
			RefundedTotalFen: l.RefundedFen}
	}
	return out
}

// refundLinesOf groups an order's refund lines by refund.
func refundLinesOf(rows []billingdb.OrderRefundLinesRow, cur money.Currency) map[uuid.UUID][]LineRefund {
	out := make(map[uuid.UUID][]LineRefund)
	for _, r := range rows {
		out[r.RefundID] = append(out[r.RefundID], LineRefund{LineNo: int(r.LineNo), Amount: money.MustNew(r.AmountFen, cur)})
	}
	return out
}
