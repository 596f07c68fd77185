package events

import "github.com/google/uuid"

// The identity platform's topics about consumers.
const (
	// TopicConsumerIdentifierShared: a consumer's sign-in claimed an identifier (a
	// unionid, a phone) already bound to another consumer, which identity leaves where it
	// is. The two may be one person: matching's identity resolution weighs it. Key: the
	// consumer signing in.
	TopicConsumerIdentifierShared Topic = "identity.consumer_identifier_shared"
)

// ConsumerIdentifier is one identifier of a consumer.
type ConsumerIdentifier struct {
	Kind  string `json:"kind"` // openid, unionid, phone
	AppID string `json:"app_id,omitempty"`
	Value string `json:"value"`
	// Verified: the channel proved it (a phone from WeChat's getPhoneNumber, not typed).
	Verified bool `json:"verified,omitempty"`
}

// ConsumerIdentifierShared is the payload of TopicConsumerIdentifierShared: both
// consumers' identifiers as they are after the sign-in, the signing-in consumer's with
// the identifier it claimed (which stays bound to Other).
type ConsumerIdentifierShared struct {
	ConsumerID       uuid.UUID            `json:"consumer_id"`
	Other            uuid.UUID            `json:"other"`
	Kind             string               `json:"kind"`
	Identifiers      []ConsumerIdentifier `json:"identifiers"`
	OtherIdentifiers []ConsumerIdentifier `json:"other_identifiers"`
}

// The identity platform's topics about staff.
const (
	// TopicStaffChanged: a staff user was disabled, or moved to another org unit. The
	// B-CRM hands the user's leads over. Key: the user id.
	TopicStaffChanged Topic = "identity.staff_changed"
)

// StaffChanged is the payload of TopicStaffChanged.
type StaffChanged struct {
	UserID   uuid.UUID     `json:"user_id"`
	Disabled bool          `json:"disabled"`         // disabled by this change
	FromUnit uuid.NullUUID `json:"from_org_unit_id"` // the unit before the change
	ToUnit   uuid.NullUUID `json:"to_org_unit_id"`   // and after
}
