package matching

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching/internal/matchingdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
)

// The backfill of shops: merchant published its leads as events only from the change
// that made matching keep its own record of shops (shops.go), so the leads and
// merchants of an existing deployment were never told. BackfillShops asks merchant for
// every shop as it stands (Ports.Shops, merchant's ShopStates: a published read, never
// its tables) and records each page as the lead events are recorded: the newest facts
// win by the lead's time, a live shop keeps its merchant and links its owner, and each
// shop is matched with the others. Running it again, or beside the events, changes
// nothing that is already known.

// ShopSource is merchant's read of every shop, a page at a time in lead id order after
// the cursor, with the next page's cursor (uuid.Nil at the end).
type ShopSource interface {
	ShopStates(ctx context.Context, after uuid.UUID, limit int) ([]ShopState, uuid.UUID, error)
}

// ShopState is a shop as merchant has it now: its lead's facts (as the lead events
// carry them) and its merchant once live (uuid.Nil before).
type ShopState struct {
	Lead     events.LeadChanged
	Merchant uuid.UUID
}

// CodeNoShopSource: the backfill has no merchant to read shops from.
const CodeNoShopSource = "matching.no_shop_source"

// BackfillResult is what a backfill read and recorded.
type BackfillResult struct {
	Pages int `json:"pages"`
	Shops int `json:"shops"` // leads read, live or not
	Live  int `json:"live"`  // of them, live merchants
	// Matches is how many shop matches there are after the backfill (any state).
	Matches int64         `json:"matches"`
	Took    time.Duration `json:"took"`
}

// BackfillShops records every shop merchant has, pageSize (default 500) at a time, each
// page in one transaction.
func (s *Service) BackfillShops(ctx context.Context, pageSize int) (BackfillResult, error) {
	if s.shops == nil {
		return BackfillResult{}, errs.E(errs.KindConflict, CodeNoShopSource, "matching was built without merchant's shops to read")
	}
	if pageSize <= 0 {
		pageSize = 500
	}
	start := time.Now()
	var res BackfillResult
	for after := uuid.Nil; ; {
		page, next, err := s.shops.ShopStates(ctx, after, pageSize)
		if err != nil {
			return res, fmt.Errorf("matching: backfill shops after %s: %w", after, err)
		}
		if err := s.recordShopStates(ctx, page); err != nil {
			return res, fmt.Errorf("matching: backfill shops after %s: %w", after, err)
		}
		res.Pages++
		res.Shops += len(page)
		for _, st := range page {
			if st.Merchant != uuid.Nil {
				res.Live++
			}
		}
		if next == uuid.Nil {
			break
		}
		after = next
	}
	n, err := matchingdb.New(s.db).CountShopMatches(ctx)
	if err != nil {
		return res, fmt.Errorf("matching: backfill shops: %w", err)
	}
	res.Matches, res.Took = n, time.Since(start)
	return res, nil
}

// recordShopStates records one page of shops and links the owners of the live ones.
func (s *Service) recordShopStates(ctx context.Context, page []ShopState) error {
	facts := make([]shopFacts, len(page))
	owners := map[uuid.UUID][]uuid.UUID{}
	for i, st := range page {
		facts[i] = leadFacts(st.Lead, ShopLead, uuid.NullUUID{})
		if st.Merchant == uuid.Nil {
			continue
		}
		facts[i].origin, facts[i].merchant = ShopMerchant, uuid.NullUUID{UUID: st.Merchant, Valid: true}
		ids, err := s.ownersOf(ctx, st.Merchant, st.Lead.Phone)
		if err != nil {
			return err
		}
		owners[st.Merchant] = ids
	}
	return s.recordShops(ctx, facts, func(ctx context.Context, q *matchingdb.Queries, now time.Time) error {
		for m, ids := range owners {
			if err := linkOwner(ctx, q, m, ids, now); err != nil {
				return err
			}
		}
		return nil
	})
}
