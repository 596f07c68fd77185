package events

import (
	"time"

	"github.com/google/uuid"
)

// Membership facts told for many members at once (see membership.go for one).

// TopicCouponsIssued: a campaign issued coupons of a batch to many members in one
// go (consumer's IssueCampaignCoupons). One event per send batch rather than one per
// coupon keeps a million-member campaign from flooding the outbox. Key: the batch id.
const TopicCouponsIssued Topic = "consumer.coupons_issued"

// CouponsIssued is the payload of TopicCouponsIssued.
type CouponsIssued struct {
	BatchID  string         `json:"batch_id"`
	IssuedAt time.Time      `json:"issued_at"`
	Coupons  []IssuedCoupon `json:"coupons"`
}

// IssuedCoupon is one coupon of a CouponsIssued event.
type IssuedCoupon struct {
	CouponID   uuid.UUID `json:"coupon_id"`
	ConsumerID uuid.UUID `json:"consumer_id"`
}

// TopicPointsBalancesChanged: a job (releasing pending points, expiring lots) moved
// many members' available points in one transaction. Key: the first member's id.
const TopicPointsBalancesChanged Topic = "consumer.points_balances_changed"

// PointsBalancesChanged is the payload of TopicPointsBalancesChanged: each member's
// available points now.
type PointsBalancesChanged struct {
	Balances  []PointsBalance `json:"balances"`
	ChangedAt time.Time       `json:"changed_at"`
}

// PointsBalance is one member's available points in a PointsBalancesChanged event.
type PointsBalance struct {
	ConsumerID uuid.UUID `json:"consumer_id"`
	Balance    int64     `json:"balance"`
}
