package billing

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/errs"
)

// Refund rules WeChat Pay enforces, checked here before WeChat is called so that a
// refund it would refuse is never recorded (error codes of this package).
const (
	CodeRefundLimit   = "billing.refund_limit"    // 50 refunds of one order
	CodeRefundTooLate = "billing.refund_too_late" // paid over 365 days ago
	CodeRefundTooSoon = "billing.refund_too_soon" // another refund of the order a moment ago
	CodeRefundNoUsed  = "billing.refund_no_used"  // out_refund_no already names another refund
)

// RefundRules are WeChat Pay's limits on the refunds of one order. The zero value
// is WeChat's: at most 50 refunds of an order, within 365 days of its payment, one
// minute apart ("同一笔订单多次退款的请求需相隔1分钟").
type RefundRules struct {
	MaxRefunds int           // [50]
	Window     time.Duration // [365 days]
	Spacing    time.Duration // [1 minute]
}

func (r RefundRules) withDefaults() RefundRules {
	if r.MaxRefunds <= 0 {
		r.MaxRefunds = 50
	}
	if r.Window <= 0 {
		r.Window = 365 * 24 * time.Hour
	}
	if r.Spacing <= 0 {
		r.Spacing = time.Minute
	}
	return r
}

// outRefundNoPattern is WeChat's out_refund_no: 6 to 64 of [0-9A-Za-z_-|*@].
var outRefundNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{6,64}$`)

// checkRefundRules refuses a new refund of o (locked) WeChat would refuse. Rejected
// refunds do not count: WeChat never took them.
func (s *Service) checkRefundRules(ctx context.Context, q *billingdb.Queries, o billingdb.BillingOrder, now time.Time) error {
	rules := s.cfg.Refunds
	if o.PaidAt != nil && now.Sub(*o.PaidAt) > rules.Window {
		return errs.E(errs.KindUnprocessable, CodeRefundTooLate,
			fmt.Sprintf("WeChat Pay refunds orders paid within %d days; this one was paid on %s", int(rules.Window.Hours()/24),
				o.PaidAt.In(shanghai).Format("2006-01-02")))
	}
	st, err := q.RefundRules(ctx, o.ID)
	if err != nil {
		return err
	}
	if st.Refunds >= int32(rules.MaxRefunds) {
		return errs.E(errs.KindUnprocessable, CodeRefundLimit, fmt.Sprintf("WeChat Pay takes at most %d refunds of one order", rules.MaxRefunds))
	}
	if wait := st.LastAt.Add(rules.Spacing).Sub(now); wait > 0 {
		e := errs.E(errs.KindTooMany, CodeRefundTooSoon, fmt.Sprintf("WeChat Pay takes refunds of one order %s apart: try again in %ds",
			rules.Spacing, int(wait.Seconds()+0.999)))
		e.RetryAfter = int(wait.Seconds() + 0.999)
		return e
	}
	return nil
}

// sameRefund is the refund a repeated request names (by its Idempotency-Key for the
// order, or by its out_refund_no), nil when the request is new. An out_refund_no of
// another order or amount is refused.
func (s *Service) sameRefund(ctx context.Context, q *billingdb.Queries, o billingdb.BillingOrder, in RefundRequest) (*billingdb.BillingRefund, error) {
	if in.Key != "" {
		r, err := q.GetRefundByKey(ctx, billingdb.GetRefundByKeyParams{OrderID: o.ID, RequestKey: in.Key})
		if err == nil {
			return &r, nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
	}
	if in.OutRefundNo == "" {
		return nil, nil
	}
	r, err := q.GetRefundByNo(ctx, in.OutRefundNo)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	same := r.OrderID == o.ID && (in.Amount.IsZero() || r.AmountFen == in.Amount.Fen())
	if same && len(in.Lines) > 0 {
		have, err := q.RefundLines(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		same = sameLines(in.Lines, have)
	}
	if !same {
		return nil, errs.E(errs.KindConflict, CodeRefundNoUsed, "out_refund_no "+in.OutRefundNo+" names another refund").WithField("out_refund_no")
	}
	return &r, nil
}
