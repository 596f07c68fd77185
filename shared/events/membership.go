package events

import (
	"time"

	"github.com/google/uuid"
)

// Facts of a member that marketing keeps (segments over tags, tiers, points and
// coupons). The consumer domain (loyalty) publishes them; a payload carries the new
// state, not a delta, so a subscriber applying them twice or out of order converges.
const (
	// TopicProfileChanged: a member's labels (gender, city, birthday) changed. Key: the consumer id.
	TopicProfileChanged Topic = "consumer.profile_changed"
	// TopicTagsChanged: a member's tags changed. Key: the consumer id.
	TopicTagsChanged Topic = "consumer.tags_changed"
	// TopicTierChanged: a member moved to another tier. Key: the consumer id.
	TopicTierChanged Topic = "consumer.tier_changed"
	// TopicPointsBalanceChanged: a member's available points changed. Key: the consumer id.
	TopicPointsBalanceChanged Topic = "consumer.points_balance_changed"
	// TopicCouponIssued: a coupon of a batch was issued to a member. Key: the coupon id.
	TopicCouponIssued Topic = "consumer.coupon_issued"
	// TopicCouponRedeemed: a member redeemed a coupon against an order. Key: the coupon id.
	TopicCouponRedeemed Topic = "consumer.coupon_redeemed"
)

// ProfileChanged is the payload of TopicProfileChanged.
type ProfileChanged struct {
	ConsumerID uuid.UUID `json:"consumer_id"`
	Gender     string    `json:"gender"` // "f", "m" or ""
	City       string    `json:"city"`
	Birthday   string    `json:"birthday,omitempty"` // yyyy-MM-dd
	ChangedAt  time.Time `json:"changed_at"`
}

// TagsChanged is the payload of TopicTagsChanged: the member's whole set of tags now.
type TagsChanged struct {
	ConsumerID uuid.UUID `json:"consumer_id"`
	Tags       []string  `json:"tags"`
	ChangedAt  time.Time `json:"changed_at"`
}

// TierChanged is the payload of TopicTierChanged.
type TierChanged struct {
	ConsumerID uuid.UUID `json:"consumer_id"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	ChangedAt  time.Time `json:"changed_at"`
}

// PointsBalanceChanged is the payload of TopicPointsBalanceChanged.
type PointsBalanceChanged struct {
	ConsumerID uuid.UUID `json:"consumer_id"`
	Balance    int64     `json:"balance"`
	ChangedAt  time.Time `json:"changed_at"`
}

// CouponIssued is the payload of TopicCouponIssued.
type CouponIssued struct {
	CouponID   uuid.UUID `json:"coupon_id"`
	BatchID    string    `json:"batch_id"`
	ConsumerID uuid.UUID `json:"consumer_id"`
	IssuedAt   time.Time `json:"issued_at"`
}

// CouponRedeemed is the payload of TopicCouponRedeemed.
type CouponRedeemed struct {
	CouponID   uuid.UUID `json:"coupon_id"`
	BatchID    string    `json:"batch_id"`
	ConsumerID uuid.UUID `json:"consumer_id"`
	OrderID    uuid.UUID `json:"order_id"`
	RedeemedAt time.Time `json:"redeemed_at"`
}
