package events

import (
	"time"

	"github.com/google/uuid"
)

// The merchant domain's topics.
const (
	// TopicMerchantLive: a reviewer approved a shop's onboarding and it is live and
	// trading. Key: the merchant id.
	TopicMerchantLive Topic = "merchant.live"
)

// MerchantLive is the payload of TopicMerchantLive.
type MerchantLive struct {
	MerchantID      uuid.UUID `json:"merchant_id"`
	LeadID          uuid.UUID `json:"lead_id"`
	Name            string    `json:"name"`
	Category        string    `json:"category"`
	City            string    `json:"city"`
	Lat             float64   `json:"lat"`
	Lng             float64   `json:"lng"`
	SubMchID        string    `json:"sub_mchid"`
	CommissionRate  string    `json:"commission_rate"` // a fraction as a decimal string: "0.065"
	SettlementCycle string    `json:"settlement_cycle"`
	LiveAt          time.Time `json:"live_at"`
	// What identifies the shop beyond its name and place, for matching's shop matching
	// and the owner's link to their consumer identity: the owner's phone (E.164) and the
	// business licence number (统一社会信用代码), when the lead has them.
	OwnerPhone string `json:"owner_phone,omitempty"`
	LicenceNo  string `json:"licence_no,omitempty"`
}

// Leads as shops, for matching's shop matching (leads ↔ merchants ↔ leads by the signals
// of lead dedup). Each event carries the lead's identifying facts whole, so the latest
// At wins whatever order they arrive in. Key: the lead id (the import id for a bulk).
const (
	// TopicLeadCreated: a lead was entered in the console or through the API.
	TopicLeadCreated Topic = "merchant.lead_created"
	// TopicLeadEdited: a lead's details changed, or a lost lead came back.
	TopicLeadEdited Topic = "merchant.lead_edited"
	// TopicLeadArchived: a lead was moved to lost; it still holds its phone and licence.
	TopicLeadArchived Topic = "merchant.lead_archived"
	// TopicLeadsImported: the leads one import made, in one event per batch.
	TopicLeadsImported Topic = "merchant.leads_imported"
)

// LeadChanged is the payload of TopicLeadCreated, TopicLeadEdited and TopicLeadArchived,
// and one lead of LeadsImported.
type LeadChanged struct {
	LeadID    uuid.UUID `json:"lead_id"`
	Name      string    `json:"name"`
	Category  string    `json:"category"`
	City      string    `json:"city"`
	Lat       float64   `json:"lat"`
	Lng       float64   `json:"lng"`
	Phone     string    `json:"phone,omitempty"`      // normalised as lead dedup compares it
	LicenceNo string    `json:"licence_no,omitempty"` // 统一社会信用代码, checked
	Archived  bool      `json:"archived,omitempty"`   // stage lost
	At        time.Time `json:"at"`
}

// LeadsImported is the payload of TopicLeadsImported: the leads of one batch of an
// import (at most LeadsImportedBatch each), in the file's order.
type LeadsImported struct {
	ImportID uuid.UUID     `json:"import_id"`
	Batch    int           `json:"batch"` // 0, 1, … within the import
	Leads    []LeadChanged `json:"leads"`
}

// LeadsImportedBatch bounds one LeadsImported event.
const LeadsImportedBatch = 1000
