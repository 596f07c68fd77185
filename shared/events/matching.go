package events

import (
	"time"

	"github.com/google/uuid"
)

// The matching domain's topics: consumer merges, for the domains whose records hang on a
// consumer (points, coupons, orders, leads) to follow: move the merged consumer's records
// to the survivor, and on an undo move back exactly what they moved.
const (
	// TopicConsumersMerged: two consumers are one person from now on. Key: the merge id.
	TopicConsumersMerged Topic = "matching.consumers_merged"
	// TopicConsumerMergeUndone: a merge was undone. Key: the merge id.
	TopicConsumerMergeUndone Topic = "matching.consumer_merge_undone"
)

// ConsumersMerged is the payload of TopicConsumersMerged.
type ConsumersMerged struct {
	MergeID   uuid.UUID `json:"merge_id"`
	Survivor  uuid.UUID `json:"survivor"`
	Merged    uuid.UUID `json:"merged"`
	Automatic bool      `json:"automatic"`
	At        time.Time `json:"at"`
}

// ConsumerMergeUndone is the payload of TopicConsumerMergeUndone.
type ConsumerMergeUndone struct {
	MergeID  uuid.UUID `json:"merge_id"`
	Survivor uuid.UUID `json:"survivor"`
	Merged   uuid.UUID `json:"merged"`
	At       time.Time `json:"at"`
}
