package events

import (
	"time"

	"github.com/google/uuid"
)

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
