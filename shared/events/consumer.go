package events

import (
	"time"

	"github.com/google/uuid"
)

// The consumer domain's topics.
const (
	// TopicMemberJoined: a consumer became a member. Key: the consumer id.
	TopicMemberJoined Topic = "consumer.member_joined"
	// TopicPointsExpiring: some of a member's points expire within the program's
	// reminder window; sent once per lot (a notifier tells the member). Key: the consumer id.
	TopicPointsExpiring Topic = "consumer.points_expiring"
	// TopicTierDropExpected: a member's evaluation period ends within the tier
	// program's notice window and their metric is below their tier's retention
	// threshold; sent once per period (a notifier tells the member). Key: the consumer id.
	TopicTierDropExpected Topic = "consumer.tier_drop_expected"
)

// TierDropExpected is the payload of TopicTierDropExpected: Missing more of Metric
// (fen of growth value, or points) by PeriodEnd keeps Tier.
type TierDropExpected struct {
	ConsumerID uuid.UUID `json:"consumer_id"`
	Level      int       `json:"level"`
	Tier       string    `json:"tier"`
	Metric     string    `json:"metric"` // growth or points
	Missing    int64     `json:"missing"`
	PeriodEnd  time.Time `json:"period_end"`
}

// MemberJoined is the payload of TopicMemberJoined.
type MemberJoined struct {
	ConsumerID uuid.UUID `json:"consumer_id"`
	AppID      string    `json:"app_id,omitempty"`
	JoinedAt   time.Time `json:"joined_at"`
}

// PointsExpiring is the payload of TopicPointsExpiring: Points expire, the first of
// them at FirstExpiry (exclusive; LastDay is that day in Asia/Shanghai).
type PointsExpiring struct {
	ConsumerID  uuid.UUID `json:"consumer_id"`
	Points      int64     `json:"points"`
	FirstExpiry time.Time `json:"first_expiry"`
	LastDay     string    `json:"last_day"`
}
