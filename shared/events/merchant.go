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
