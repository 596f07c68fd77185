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
