package main

import (
	"context"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/merchant"
)

// merchantShops gives matching's backfill of shops merchant's published read of every
// lead as a shop.
type merchantShops struct{ m *merchant.Service }

func (a merchantShops) ShopStates(ctx context.Context, after uuid.UUID, limit int) ([]matching.ShopState, uuid.UUID, error) {
	page, next, err := a.m.ShopStates(ctx, after, limit)
	if err != nil {
		return nil, uuid.Nil, err
	}
	out := make([]matching.ShopState, len(page))
	for i, st := range page {
		out[i] = matching.ShopState{Lead: st.LeadChanged, Merchant: st.MerchantID}
	}
	return out, next, nil
}
