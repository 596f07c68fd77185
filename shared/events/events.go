// Package events is the one contract between domains: the names of the topics and the
// envelope every event travels in. A domain that must tell another domain to its left
// something (a payment succeeded, so the consumer earns points) publishes an event
// through the outbox instead of importing it. Payload structs live here, beside their
// topic, as domains add them.
package events

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Topic names an event type: "<domain>.<fact in the past tense>".
type Topic string

// Envelope is what a subscriber receives. ID is unique per event and stable across
// redeliveries: delivery is at least once, so handlers dedupe on ID or on a business key.
type Envelope struct {
	ID         uuid.UUID       `json:"id"`
	Topic      Topic           `json:"topic"`
	Key        string          `json:"key"` // the aggregate the event is about, e.g. an order id
	OccurredAt time.Time       `json:"occurred_at"`
	RequestID  string          `json:"request_id,omitempty"`
	Payload    json.RawMessage `json:"payload"`
}

// Decode unmarshals the payload into v.
func (e Envelope) Decode(v any) error { return json.Unmarshal(e.Payload, v) }
