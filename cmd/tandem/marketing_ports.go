package main

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/errs"
)

// loyaltyOffers is marketing's Offers port played by the consumer domain's loyalty:
// a send batch becomes one IssueCampaignCoupons (or CreditCampaignPoints) call, and
// the grant's key "<run>:<member>" is loyalty's idempotency key, so a retried batch
// or a run resumed after a killed worker issues nothing twice.
type loyaltyOffers struct{ loyalty *consumer.Service }

// CouponStock implements marketing.Offers; a batch id that is not a uuid names no batch.
func (o loyaltyOffers) CouponStock(ctx context.Context, batchID string) (int64, error) {
	id, err := uuid.Parse(batchID)
	if err != nil {
		return 0, nil
	}
	return o.loyalty.CouponBatchLeft(ctx, id)
}

// IssueCoupons implements marketing.Offers.
func (o loyaltyOffers) IssueCoupons(ctx context.Context, batchID string, grants []marketing.Grant) (marketing.Issued, error) {
	id, err := uuid.Parse(batchID)
	if err != nil {
		return marketing.Issued{}, fmt.Errorf("marketing offers: coupon batch %q: %w", batchID, err)
	}
	res, err := o.loyalty.IssueCampaignCoupons(ctx, id, campaignGrants(grants))
	return issuedOf(res), err
}

// CreditPoints implements marketing.Offers.
func (o loyaltyOffers) CreditPoints(ctx context.Context, points int64, reason string, grants []marketing.Grant) (marketing.Issued, error) {
	res, err := o.loyalty.CreditCampaignPoints(ctx, points, reason, campaignGrants(grants))
	return issuedOf(res), err
}

func campaignGrants(grants []marketing.Grant) []consumer.CampaignGrant {
	out := make([]consumer.CampaignGrant, len(grants))
	for i, g := range grants {
		out[i] = consumer.CampaignGrant{ConsumerID: g.ConsumerID, Key: g.Key}
	}
	return out
}

func issuedOf(res consumer.CampaignIssue) marketing.Issued {
	out := marketing.Issued{Refused: make(map[string]string, len(res.Refused))}
	for k, reason := range res.Refused {
		if reason == consumer.RefusedOutOfStock {
			reason = marketing.RefusedOutOfStock
		}
		out.Refused[k] = reason
	}
	return out
}

// matchingAudiences is marketing's Audiences port played by matching's AudienceFor.
// Matching is built with the payments (openPayments), after marketing: it is looked
// up at each call.
type matchingAudiences struct{ a *app }

// AudienceFor implements marketing.Audiences.
func (m matchingAudiences) AudienceFor(ctx context.Context, merchantID uuid.UUID, limit int) ([]uuid.UUID, error) {
	if m.a.matching == nil {
		return nil, errs.E(errs.KindUnavailable, "marketing.matching_unavailable", "matching is not running in this process")
	}
	members, err := m.a.matching.AudienceFor(ctx, merchantID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]uuid.UUID, len(members))
	for i, am := range members {
		out[i] = am.ConsumerID
	}
	return out, nil
}

// merchantDirectory is consumer's Merchants port played by merchant's published
// Terms read: an id whose terms are not found names no merchant.
type merchantDirectory struct{ m *merchant.Service }

// UnknownMerchants implements consumer.Merchants.
func (d merchantDirectory) UnknownMerchants(ctx context.Context, ids []uuid.UUID) ([]uuid.UUID, error) {
	var unknown []uuid.UUID
	seen := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		_, err := d.m.Terms(ctx, id)
		switch {
		case errs.KindOf(err) == errs.KindNotFound:
			unknown = append(unknown, id)
		case err != nil:
			return nil, err
		}
	}
	return unknown, nil
}
