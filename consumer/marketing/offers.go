package marketing

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
)

// Grant is one member's share of an offer. Key is "<run>:<member>": the issuer must
// issue at most once per key, which makes a retried send batch harmless.
type Grant struct {
	ConsumerID uuid.UUID
	Key        string
}

// Issued is what an issuer did with a batch of grants. Refused names the grants (by
// key) that got nothing, with the issuer's reason (not a member, over a member's
// limit, out of stock); every other grant has its offer, now or from an earlier call.
type Issued struct {
	Refused map[string]string
}

// RefusedOutOfStock is the reason of a grant refused because the coupon batch ran
// out: the run stops there.
const RefusedOutOfStock = "out_of_stock"

// Offers is what campaigns need of loyalty (the consumer domain's coupons and
// points); cmd/tandem adapts it to consumer's IssueCampaignCoupons and
// CreditCampaignPoints.
type Offers interface {
	// CouponStock is how many coupons of a batch can still be issued; an unknown
	// batch is 0.
	CouponStock(ctx context.Context, batchID string) (int64, error)
	// IssueCoupons issues one coupon of the batch per grant, at most once per key.
	IssueCoupons(ctx context.Context, batchID string, grants []Grant) (Issued, error)
	// CreditPoints credits points per grant, at most once per key.
	CreditPoints(ctx context.Context, points int64, reason string, grants []Grant) (Issued, error)
}

// Message is a message to one member.
type Message struct {
	ConsumerID uuid.UUID
	Key        string // at most once per key
	Template   string // the channel's template (WeChat: the subscribe message's template_id)
	Text       string
}

// Channel delivers messages (WeChat subscribe messages in production). Refused names
// the messages (by key) the channel could not deliver to their member (no openid,
// the member has not subscribed to the template); an error stops the batch.
type Channel interface {
	Send(ctx context.Context, msgs []Message) (Issued, error)
}

// LogOffers issues nothing and logs what it would: development, until loyalty is
// wired in. Every batch has unlimited stock.
type LogOffers struct{ Log *slog.Logger }

// CouponStock implements Offers.
func (LogOffers) CouponStock(context.Context, string) (int64, error) { return 1 << 40, nil }

// IssueCoupons implements Offers.
func (o LogOffers) IssueCoupons(ctx context.Context, batchID string, grants []Grant) (Issued, error) {
	o.Log.InfoContext(ctx, "marketing: issue coupons (log only)", "batch", batchID, "members", len(grants))
	return Issued{}, nil
}

// CreditPoints implements Offers.
func (o LogOffers) CreditPoints(ctx context.Context, points int64, reason string, grants []Grant) (Issued, error) {
	o.Log.InfoContext(ctx, "marketing: credit points (log only)", "points", points, "reason", reason, "members", len(grants))
	return Issued{}, nil
}

// LogChannel is the development channel: it logs messages.
type LogChannel struct{ Log *slog.Logger }

// Send implements Channel.
func (c LogChannel) Send(ctx context.Context, msgs []Message) (Issued, error) {
	if len(msgs) > 0 {
		c.Log.InfoContext(ctx, "marketing: send messages (log channel)", "members", len(msgs), "text", msgs[0].Text)
	}
	return Issued{}, nil
}
