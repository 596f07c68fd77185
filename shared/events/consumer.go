package events

import (
	"time"

	"github.com/google/uuid"
)

// The consumer domain's topics.
const (
	// TopicMemberJoined: a consumer became a member. Key: the consumer id.
	TopicMemberJoined Topic = "consumer.member_joined"
)

// MemberJoined is the payload of TopicMemberJoined.
type MemberJoined struct {
	ConsumerID uuid.UUID `json:"consumer_id"`
	AppID      string    `json:"app_id,omitempty"`
	JoinedAt   time.Time `json:"joined_at"`
}
