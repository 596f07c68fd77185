package events

import (
	"time"

	"github.com/google/uuid"
)

// TopicCouponsMoved: a consumer merge (or its undo) moved coupons from one member to
// another (consumer's merge follower). Coupons are told to marketing as counts per
// member and batch that change by delta (issued +1, redeemed −1 unused), so the move is
// told as one too: the counts per batch that left From and reached To. Key: From.
const TopicCouponsMoved Topic = "consumer.coupons_moved"

// CouponsMoved is the payload of TopicCouponsMoved.
type CouponsMoved struct {
	From    uuid.UUID      `json:"from"`
	To      uuid.UUID      `json:"to"`
	Batches []MovedCoupons `json:"batches"`
	MovedAt time.Time      `json:"moved_at"`
}

// MovedCoupons is one batch's coupons of a CouponsMoved event: Held coupons moved, of
// which Unused not redeemed.
type MovedCoupons struct {
	BatchID string `json:"batch_id"`
	Held    int32  `json:"held"`
	Unused  int32  `json:"unused"`
}
