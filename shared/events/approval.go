package events

import (
	"time"

	"github.com/google/uuid"
)

// The approval flow's topics (shared/approval).
const (
	// TopicApprovalDecided: an approver approved or rejected a request. Key: the
	// request id. The requesting domain already acted in the deciding transaction (its
	// approval.Handler); this is for everyone else (notifications, reports).
	TopicApprovalDecided Topic = "approval.decided"
)

// ApprovalDecided is the payload of TopicApprovalDecided.
type ApprovalDecided struct {
	ID          uuid.UUID `json:"id"`
	Kind        string    `json:"kind"`
	SubjectType string    `json:"subject_type"`
	SubjectID   string    `json:"subject_id"`
	Approved    bool      `json:"approved"`
	Comment     string    `json:"comment"`
	DecidedBy   uuid.UUID `json:"decided_by"`
	DecidedAt   time.Time `json:"decided_at"`
}
