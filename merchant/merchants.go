package merchant

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Merchant is a live shop. Its webhook secret is shown only at approval.
type Merchant struct {
	ID              uuid.UUID `json:"id"`
	LeadID          uuid.UUID `json:"lead_id"`
	ContractID      uuid.UUID `json:"contract_id"`
	Name            string    `json:"name"`
	Category        string    `json:"category"`
	City            string    `json:"city"`
	Lat             float64   `json:"lat"`
	Lng             float64   `json:"lng"`
	Status          string    `json:"status"`
	SubMchID        string    `json:"sub_mchid"`
	WebhookURL      string    `json:"webhook_url"`
	CommissionRate  string    `json:"commission_rate"` // "6.5%"
	SettlementCycle Cycle     `json:"settlement_cycle"`
	OwnerLogin      string    `json:"owner_login"`
	LiveAt          time.Time `json:"live_at"`
}

func merchantOf(m merchantdb.MerchantMerchant) Merchant {
	out := Merchant{ID: m.ID, LeadID: m.LeadID, ContractID: m.ContractID, Name: m.Name, Category: m.Category, City: m.City,
		Lat: m.Lat, Lng: m.Lng, Status: m.Status, SubMchID: m.SubMchid, WebhookURL: m.WebhookUrl,
		CommissionRate: rateText(m.CommissionRate), SettlementCycle: Cycle(m.SettlementCycle), LiveAt: m.LiveAt.UTC()}
	if m.OwnerLogin != nil {
		out.OwnerLogin = *m.OwnerLogin
	}
	return out
}

func rateText(d decimal.Decimal) string {
	r, _ := money.NewRate(d) // the column's CHECK keeps it in 0..1
	return r.String()
}

// merchantRow is a merchant's place in the data scopes: the rep who signed it, their
// team, and the merchant itself (its own users).
func merchantRow(m merchantdb.MerchantMerchant) identity.Row {
	return identity.Row{Owner: m.OwnerID.UUID, OrgUnit: m.OrgUnitID.UUID, Merchant: m.ID}
}

// merchantReadPerms may each show a merchant: sales staff through contracts, the
// merchant's own users through their portal.
var merchantReadPerms = []identity.Permission{identity.PermContractRead, identity.PermPortalRead}

// GetMerchant returns a merchant the caller may see.
func (s *Service) GetMerchant(ctx context.Context, p *identity.Principal, id uuid.UUID) (Merchant, error) {
	if err := principal(p); err != nil {
		return Merchant{}, err
	}
	m, err := merchantdb.New(s.db).GetMerchant(ctx, id)
	if err != nil {
		return Merchant{}, notFound(err, "merchant.merchant")
	}
	if !slices.ContainsFunc(merchantReadPerms, func(perm identity.Permission) bool { return p.Scope(perm).Allows(merchantRow(m)) }) {
		return Merchant{}, errs.NotFound("merchant.merchant")
	}
	return merchantOf(m), nil
}

// ListMerchants returns the merchants the caller may see, a page at a time.
func (s *Service) ListMerchants(ctx context.Context, p *identity.Principal, after uuid.UUID, limit int) ([]Merchant, uuid.UUID, error) {
	if err := principal(p); err != nil {
		return nil, uuid.Nil, err
	}
	limit = int(pg.PageLimit(limit))
	seen := map[uuid.UUID]merchantdb.MerchantMerchant{}
	held := false
	for _, perm := range merchantReadPerms {
		if !p.Can(perm) {
			continue
		}
		held = true
		sc := p.Scope(perm)
		rows, err := merchantdb.New(s.db).ListMerchants(ctx, merchantdb.ListMerchantsParams{ScopeAll: sc.SeesAll(),
			ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs(), ScopeMerchantIds: sc.MerchantIDs(),
			AfterID: nullUUID(after), MaxRows: int32(limit + 1)})
		if err != nil {
			return nil, uuid.Nil, fmt.Errorf("merchant: list merchants: %w", pg.Classify(err))
		}
		for _, r := range rows {
			seen[r.ID] = r
		}
	}
	if !held {
		return nil, uuid.Nil, errs.E(errs.KindForbidden, "identity.forbidden", "you do not have the permission "+string(identity.PermContractRead))
	}
	ids := make([]uuid.UUID, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	pg.SortUUIDs(ids)
	ids, next := pg.TrimPage(ids, limit, func(id uuid.UUID) uuid.UUID { return id })
	out := make([]Merchant, len(ids))
	for i, id := range ids {
		out[i] = merchantOf(seen[id])
	}
	return out, next, nil
}

// Terms are what billing needs of a merchant: its contract's commission and cycle and
// how to pay and notify it.
type Terms struct {
	MerchantID     uuid.UUID
	Name           string
	CommissionRate decimal.Decimal // a fraction: 0.065 for 6.5%
	Cycle          Cycle
	MchID          string // WeChat Pay sub-merchant number
	WebhookURL     string
	WebhookSecret  string
	Live           bool
}

// Terms returns a merchant's terms, for other domains (no caller: a system read).
func (s *Service) Terms(ctx context.Context, merchantID uuid.UUID) (Terms, error) {
	m, err := merchantdb.New(s.db).GetMerchant(ctx, merchantID)
	if err != nil {
		return Terms{}, notFound(err, "merchant.merchant")
	}
	return Terms{MerchantID: m.ID, Name: m.Name, CommissionRate: m.CommissionRate, Cycle: Cycle(m.SettlementCycle),
		MchID: m.SubMchid, WebhookURL: m.WebhookUrl, WebhookSecret: m.WebhookSecret, Live: m.Status == "live"}, nil
}

// MerchantNames are the names of the merchants of ids, in one read, for other domains'
// pages (billing's console shows merchants by name): a system read. An id that is no
// merchant is absent from the map.
func (s *Service) MerchantNames(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	out := make(map[uuid.UUID]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := merchantdb.New(s.db).MerchantNames(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("merchant: names: %w", pg.Classify(err))
	}
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

// LiveFilter narrows ListLiveMerchants. With Near set, only merchants within RadiusM
// (default 5 km) are returned, nearest first, with their distance.
type LiveFilter struct {
	IDs        []uuid.UUID // only these merchants
	Categories []string
	City       string
	Near       *Point
	RadiusM    float64
	Limit      int // default 50, at most 1000
}

// Point is a position.
type Point struct{ Lat, Lng float64 }

// LiveMerchant is a live merchant as other domains see it.
type LiveMerchant struct {
	ID        uuid.UUID
	Name      string
	Category  string
	City      string
	Lat, Lng  float64
	DistanceM float64 // from LiveFilter.Near; 0 without it
}

// liveScanCap bounds the candidates read for a distance filter.
// TODO(scale): a geo index (PostGIS or earthdistance) instead of filtering in Go.
const liveScanCap = 10_000

// ListLiveMerchants lists live merchants for other domains (matching): a system read.
func (s *Service) ListLiveMerchants(ctx context.Context, f LiveFilter) ([]LiveMerchant, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	radius := f.RadiusM
	if radius <= 0 {
		radius = 5000
	}
	maxRows := limit
	if f.Near != nil {
		maxRows = liveScanCap
	}
	var city *string
	if f.City != "" {
		city = &f.City
	}
	cats := f.Categories
	if cats == nil {
		cats = []string{}
	}
	ids := f.IDs
	if ids == nil {
		ids = []uuid.UUID{}
	}
	rows, err := merchantdb.New(s.db).ListLiveMerchants(ctx, merchantdb.ListLiveMerchantsParams{Categories: cats, City: city,
		Ids: ids, MaxRows: int32(maxRows)})
	if err != nil {
		return nil, fmt.Errorf("merchant: live merchants: %w", pg.Classify(err))
	}
	out := make([]LiveMerchant, 0, len(rows))
	for _, r := range rows {
		lm := LiveMerchant{ID: r.ID, Name: r.Name, Category: r.Category, City: r.City, Lat: r.Lat, Lng: r.Lng}
		if f.Near != nil {
			lm.DistanceM = DistanceM(f.Near.Lat, f.Near.Lng, r.Lat, r.Lng)
			if lm.DistanceM > radius {
				continue
			}
		}
		out = append(out, lm)
	}
	if f.Near != nil {
		slices.SortStableFunc(out, func(a, b LiveMerchant) int {
			switch {
			case a.DistanceM < b.DistanceM:
				return -1
			case a.DistanceM > b.DistanceM:
				return 1
			}
			return 0
		})
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
