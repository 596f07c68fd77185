package consumer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/web"
)

// OrderLine is one line of an order a coupon is applied to: what a category
// coupon covers, and what a partial refund of that line gives back.
type OrderLine struct {
	Category  string
	AmountFen int64 // before any discount
}

// OrderForCoupon is an unpaid order coupons are applied to at prepay.
type OrderForCoupon struct {
	OrderID    uuid.UUID
	ConsumerID uuid.UUID
	MerchantID uuid.UUID
	// Lines are the order's lines; an order without lines is one line of Category
	// and AmountFen.
	Lines     []OrderLine
	Category  string
	AmountFen int64 // the order's amount before any discount
}

func (o OrderForCoupon) lines() []OrderLine {
	if len(o.Lines) > 0 {
		return o.Lines
	}
	return []OrderLine{{Category: o.Category, AmountFen: o.AmountFen}}
}

// AppliedCoupons is what the coupons take off an order: the total, each coupon's
// part (in the order applied) and each line's share (in the order of the lines).
type AppliedCoupons struct {
	DiscountFen int64      `json:"discount_fen"`
	Coupons     []int64    `json:"coupons"`
	Lines       []int64    `json:"lines"`
	CouponIDs   uuid.UUIDs `json:"coupon_ids"`
}

// ApplyCoupons makes couponIDs (in this order) the coupons of the member's unpaid
// order, inside tx (billing's transaction that records the discount on the order, so
// that both happen or neither does): the coupons the order reserved before are
// released, these are reserved for it. An empty list takes every coupon off.
// Refused, changing nothing (the caller rolls tx back), with the reason in the
// user's language: another member's or unknown coupon (404), used or reserved by
// another order, expired or not yet valid, below its threshold (saying how much is
// missing), not for the order's merchant or any of its lines' categories, the same
// coupon twice, or two coupons where one does not stack. Concurrent applications to
// one member's orders serialise on the member's row, so one coupon is reserved by one
// order and a non-stacking coupon is never stacked.
func (s *Service) ApplyCoupons(ctx context.Context, tx pgx.Tx, o OrderForCoupon, couponIDs []uuid.UUID) (AppliedCoupons, error) {
	out, err := s.applyCoupons(ctx, consumerdb.New(tx), o, couponIDs)
	if errors.Is(err, errNotMember) {
		return AppliedCoupons{}, errs.NotFound(objMember)
	}
	return out, wrap("apply coupons", err)
}

// ReserveCoupon applies one more coupon to the member's unpaid order (besides those
// it holds already) in a transaction of its own, and returns that coupon's discount.
// Applying the same coupon to the same order again answers the same discount.
func (s *Service) ReserveCoupon(ctx context.Context, couponID uuid.UUID, o OrderForCoupon) (int64, error) {
	var discount int64
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := consumerdb.New(tx)
		if _, err := lock(ctx, q, o.ConsumerID); err != nil {
			return err
		}
		held, err := q.OrderCoupons(ctx, uuid.NullUUID{UUID: o.OrderID, Valid: true})
		if err != nil {
			return err
		}
		ids := make([]uuid.UUID, 0, len(held)+1)
		for _, c := range held {
			if c.ID == couponID {
				discount = c.DiscountFen
				return nil
			}
			ids = append(ids, c.ID)
		}
		a, err := s.applyCoupons(ctx, q, o, append(ids, couponID))
		if err != nil {
			return err
		}
		discount = a.Coupons[len(a.Coupons)-1]
		return nil
	})
	if errors.Is(err, errNotMember) {
		return 0, errs.NotFound(objMember)
	}
	return discount, wrap("reserve coupon", err)
}

func (s *Service) applyCoupons(ctx context.Context, q *consumerdb.Queries, o OrderForCoupon, couponIDs []uuid.UUID) (AppliedCoupons, error) {
	lines := o.lines()
	out := AppliedCoupons{Coupons: make([]int64, 0, len(couponIDs)), Lines: make([]int64, len(lines)), CouponIDs: couponIDs}
	if _, err := lock(ctx, q, o.ConsumerID); err != nil {
		return out, err
	}
	if _, err := q.ReleaseOrderCoupons(ctx, uuid.NullUUID{UUID: o.OrderID, Valid: true}); err != nil {
		return out, err
	}
	left := make([]int64, len(lines)) // what each line still costs after the coupons before
	for i, l := range lines {
		left[i] = l.AmountFen
	}
	now := s.now()
	for k, id := range couponIDs {
		if slices.Contains(couponIDs[:k], id) {
			return out, errs.E(errs.KindUnprocessable, CodeCouponNotStackable, "this coupon is on the order already").
				WithReason("twice").WithField("coupon_ids")
		}
		c, err := q.GetCouponForUpdate(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && c.ConsumerID != o.ConsumerID {
			return out, errs.NotFound("consumer.coupon").WithField("coupon_ids")
		} else if err != nil {
			return out, err
		}
		if c.State != CouponAvailable {
			return out, errs.E(errs.KindConflict, CodeCouponInUse, "this coupon is already used by another order").WithField("coupon_ids")
		}
		if len(couponIDs) > 1 && !c.Stackable {
			return out, errs.E(errs.KindUnprocessable, CodeCouponNotStackable, "this coupon does not stack with another coupon").WithField("coupon_ids")
		}
		covered, listFen := make([]int, 0, len(lines)), int64(0)
		for i, l := range lines {
			if len(c.Categories) == 0 || slices.Contains(c.Categories, l.Category) {
				covered = append(covered, i)
				listFen += l.AmountFen
			}
		}
		if e := outsideValidity(c.ValidFrom, c.ValidTo, now); e != nil {
			return out, e.WithField("coupon_ids")
		}
		switch {
		case len(c.MerchantIds) > 0 && !slices.Contains(c.MerchantIds, o.MerchantID):
			return out, errs.E(errs.KindUnprocessable, CodeCouponNotApplicable, "this coupon is not for this shop").
				WithReason("merchant").WithField("coupon_ids")
		case len(covered) == 0:
			return out, errs.E(errs.KindUnprocessable, CodeCouponNotApplicable, "this coupon is not for this category").
				WithReason("category", "Categories", strings.Join(c.Categories, "、")).WithField("coupon_ids")
		case listFen < c.ThresholdFen:
			return out, belowThreshold(c.ThresholdFen, listFen, len(c.Categories) > 0).WithField("coupon_ids")
		}
		// Stacked coupons apply in the order given, each to what the ones before left
		// of the lines it covers; its discount (at most what is left of them) is shared
		// among them by what they cost, by largest remainder, so no line's share is more
		// than is left of it and the shares add up to the discount.
		base := make([]int64, len(covered))
		for j, i := range covered {
			base[j] = left[i]
		}
		t := CouponTemplate{Kind: c.Kind, AmountFen: c.AmountFen, Percent: int(c.Percent), CapFen: c.CapFen}
		d := t.Discount(sum(base))
		for j, share := range money.AllocateUnits(d, base) {
			left[covered[j]] -= share
			out.Lines[covered[j]] += share
		}
		n, err := q.ReserveCoupon(ctx, consumerdb.ReserveCouponParams{ID: c.ID, OrderID: uuid.NullUUID{UUID: o.OrderID, Valid: true},
			DiscountFen: d, ReservedAt: &now})
		if err != nil {
			return out, err
		} else if n == 0 {
			return out, errs.E(errs.KindConflict, CodeCouponInUse, "this coupon is already used by another order").WithField("coupon_ids")
		}
		out.Coupons = append(out.Coupons, d)
		out.DiscountFen += d
	}
	return out, nil
}

// outsideValidity refuses a coupon outside its validity, saying the day it ended or
// starts; nil when it is valid at now.
func outsideValidity(from, to, now time.Time) *errs.Error {
	switch {
	case !to.After(now):
		day := to.In(shanghai).Format(time.DateOnly)
		return errs.E(errs.KindUnprocessable, CodeCouponExpired, "this coupon expired on "+day).WithReason("ended", "Date", day)
	case from.After(now):
		day := from.In(shanghai).Format(time.DateOnly)
		return errs.E(errs.KindUnprocessable, CodeCouponExpired, "this coupon is valid from "+day).WithReason("not_yet", "Date", day)
	}
	return nil
}

// belowThreshold refuses an order short of a coupon's threshold, saying how much is
// missing (in yuan, as the catalogues word it: "还差 ¥12.50"); ofCategories: the
// threshold counts only the lines of the coupon's categories.
func belowThreshold(thresholdFen, orderFen int64, ofCategories bool) *errs.Error {
	missing, threshold := web.Yuan(thresholdFen-orderFen), web.Yuan(thresholdFen)
	e := errs.E(errs.KindUnprocessable, CodeCouponBelow, fmt.Sprintf("the order is %s yuan short of the coupon's %s yuan threshold", missing, threshold))
	if ofCategories {
		return e.WithReason("categories", "Missing", missing, "Threshold", threshold)
	}
	return e.WithParams("Missing", missing, "Threshold", threshold)
}

func sum(xs []int64) int64 {
	var t int64
	for _, x := range xs {
		t += x
	}
	return t
}
