package merchant

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
	phonenum "github.com/tandemcrm/tandem/shared/phone"
)

// Lead is a shop being worked, as its reader may see it: the phone is masked while the
// lead is in the public pool, and for readers who may not see personal data.
type Lead struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Category  string    `json:"category"`
	Address   string    `json:"address"`
	Lat       float64   `json:"lat"`
	Lng       float64   `json:"lng"`
	Phone     string    `json:"phone"`
	City      string    `json:"city"`
	LicenceNo string    `json:"licence_no,omitempty"`
	Level     string    `json:"level"` // A, B, C... or ""
	// HandedOver: the lead came back to its pool when its rep was disabled or moved team.
	HandedOver bool       `json:"handed_over"`
	OwnerID    *uuid.UUID `json:"owner_id"` // null while in the pool
	OrgUnitID  *uuid.UUID `json:"org_unit_id"`
	PoolID     uuid.UUID  `json:"pool_id"` // the pool it belongs to, and goes back to
	InPool     bool       `json:"in_pool"`
	Locked     bool       `json:"locked"`
	Stage      Stage      `json:"stage"`
	ClaimedAt  *time.Time `json:"claimed_at"`
	// ReclaimOn is the day (Asia/Shanghai) the pool's rules take a held lead back,
	// and DaysLeft the calendar days until then; null when no rule applies.
	ReclaimOn *string   `json:"reclaim_on"`
	DaysLeft  *int      `json:"days_left"`
	CreatedBy uuid.UUID `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewLead is what CreateLead takes.
type NewLead struct {
	Name     string
	Category string
	Address  string
	Lat      float64
	Lng      float64
	Phone    string
	City     string
	// LicenceNo is the business licence number (统一社会信用代码), optional.
	LicenceNo string
	// OverrideReason creates a similar-name duplicate anyway (managers only).
	OverrideReason string
}

func (in *NewLead) validate() error {
	in.Name, in.Category = strings.TrimSpace(in.Name), strings.TrimSpace(in.Category)
	in.Address, in.City = strings.TrimSpace(in.Address), strings.TrimSpace(in.City)
	switch {
	case in.Name == "":
		return errs.Invalidf("name", "name is required")
	case in.Category == "":
		return errs.Invalidf("category", "category is required")
	case in.City == "":
		return errs.Invalidf("city", "city is required")
	case in.Lat < -90 || in.Lat > 90:
		return errs.Invalidf("lat", "lat must be between -90 and 90")
	case in.Lng < -180 || in.Lng > 180:
		return errs.Invalidf("lng", "lng must be between -180 and 180")
	}
	return nil
}

// leadRow is a lead's place in the data scopes.
func leadRow(l merchantdb.MerchantLead) identity.Row {
	return identity.Row{Owner: l.OwnerID.UUID, OrgUnit: l.OrgUnitID.UUID}
}

func ptr(id uuid.NullUUID) *uuid.UUID {
	if !id.Valid {
		return nil
	}
	v := id.UUID
	return &v
}

// leadView is l as p may see it.
func leadView(p *identity.Principal, l merchantdb.MerchantLead) Lead {
	phone := l.PhoneRaw
	switch {
	case !l.OwnerID.Valid:
		phone = phonenum.Mask(l.Phone)
	case l.OwnerID.UUID != p.User.ID && !p.Can(identity.PermPIIRead):
		phone = phonenum.Mask(l.Phone)
	}
	return Lead{ID: l.ID, Name: l.Name, Category: l.Category, Address: l.Address, Lat: l.Lat, Lng: l.Lng,
		Phone: phone, City: l.City, LicenceNo: deref(l.LicenceNo), Level: l.Level, HandedOver: l.HandedOverFrom.Valid, OwnerID: ptr(l.OwnerID), OrgUnitID: ptr(l.OrgUnitID), PoolID: l.PoolID, InPool: !l.OwnerID.Valid,
		Locked: l.Locked, Stage: Stage(l.Stage), ClaimedAt: utcPtr(l.ClaimedAt), CreatedBy: l.CreatedBy, CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC()}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// CreateLead adds a shop lead to the pool of the creator's org unit. A shop that
// duplicates an existing one (dedup.go) is refused with 409 merchant.lead_duplicate,
// saying who holds it; a manager (merchant.lead.assign) may create a similar-name
// duplicate anyway with OverrideReason, audited; a phone or licence number is never
// held twice (the unique indexes decide concurrent creates).
func (s *Service) CreateLead(ctx context.Context, p *identity.Principal, in NewLead) (Lead, error) {
	if err := principal(p); err != nil {
		return Lead{}, err
	}
	if _, err := p.Require(identity.PermLeadWrite); err != nil {
		return Lead{}, err
	}
	if err := in.validate(); err != nil {
		return Lead{}, err
	}
	phone, err := normalizePhone(in.Phone)
	if err != nil {
		return Lead{}, err
	}
	var licence *string
	if strings.TrimSpace(in.LicenceNo) != "" {
		lic, err := NormalizeLicence(in.LicenceNo)
		if err != nil {
			return Lead{}, err
		}
		licence = &lic
	}
	override := strings.TrimSpace(in.OverrideReason)
	if override != "" && !p.Can(identity.PermLeadAssign) {
		return Lead{}, errs.E(errs.KindForbidden, "identity.forbidden", "only managers (merchant.lead.assign) create a duplicate anyway")
	}
	now := s.now()
	row := merchantdb.MerchantLead{ID: newID(), Name: in.Name, Category: in.Category, Address: in.Address,
		Lat: in.Lat, Lng: in.Lng, PhoneRaw: strings.TrimSpace(in.Phone), Phone: phone, City: in.City,
		OrgUnitID: p.User.OrgUnitID, Stage: string(StageLead), CreatedBy: p.User.ID, CreatedAt: now, UpdatedAt: now, LicenceNo: licence}
	err = s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		pool, err := s.ensurePool(ctx, q, p.User.OrgUnitID, p.User.ID)
		if err != nil {
			return err
		}
		row.PoolID = pool.ID
		dups, err := s.findDuplicates(ctx, tx, candidate{phone: phone, licence: deref(licence), name: row.Name, lat: row.Lat, lng: row.Lng})
		if err != nil {
			return fmt.Errorf("merchant: dedupe: %w", pg.Classify(err))
		}
		for _, d := range dups {
			if override == "" || d.Reason != DupNearby {
				return duplicateError(d)
			}
		}
		err = q.InsertLeadInPool(ctx, merchantdb.InsertLeadInPoolParams{ID: row.ID, Name: row.Name, Category: row.Category,
			Address: row.Address, Lat: row.Lat, Lng: row.Lng, PhoneRaw: row.PhoneRaw, Phone: row.Phone, City: row.City,
			OrgUnitID: row.OrgUnitID, Stage: row.Stage, CreatedBy: row.CreatedBy, CreatedAt: now, PoolID: row.PoolID})
		if err != nil {
			return err
		}
		if licence != nil {
			if err := q.SetLicence(ctx, merchantdb.SetLicenceParams{ID: row.ID, LicenceNo: licence}); err != nil {
				return err
			}
		}
		for _, d := range dups {
			if err := q.InsertDuplicateOverride(ctx, merchantdb.InsertDuplicateOverrideParams{LeadID: row.ID, OfLeadID: d.leadID,
				Reason: override, ByUser: p.User.ID, At: now}); err != nil {
				return err
			}
			if err := record(ctx, tx, p, "merchant.lead.duplicate_override", "merchant.lead", row.ID, nil,
				map[string]any{"of_lead_id": d.leadID, "reason": override}); err != nil {
				return err
			}
		}
		if err := ownerChange(ctx, q, row.ID, EventCreated, uuid.Nil, uuid.Nil, systemReason(ReasonCreatedInto, "pool", pool.Name), p.User.ID, now); err != nil {
			return err
		}
		created := systemReason(ReasonCreated)
		if err := q.InsertStageHistory(ctx, merchantdb.InsertStageHistoryParams{ID: newID(), LeadID: row.ID,
			ToStage: row.Stage, Reason: created.Text, ReasonCode: string(created.Code), ReasonParams: created.paramsJSON(), ByUser: p.User.ID, At: now}); err != nil {
			return err
		}
		if err := record(ctx, tx, p, "merchant.lead.create", "merchant.lead", row.ID, nil, leadView(p, row)); err != nil {
			return err
		}
		if res, err := s.route(ctx, tx, p.User.OrgUnitID, []uuid.UUID{row.ID}, p.User.ID); err != nil {
			return err
		} else if res.Routed > 0 {
			if row, err = q.GetLead(ctx, row.ID); err != nil {
				return err
			}
		}
		return publishLead(ctx, tx, events.TopicLeadCreated, row)
	})
	if pg.IsUniqueViolation(err, "leads_phone_key") || pg.IsUniqueViolation(err, "leads_licence_key") {
		// A concurrent create with the same key won: say who holds it.
		dups, derr := s.findDuplicates(ctx, s.db, candidate{phone: phone, licence: deref(licence)})
		if derr != nil || len(dups) == 0 {
			return Lead{}, errs.Wrap(err, errs.KindConflict, CodeDuplicate, "this shop already exists")
		}
		return Lead{}, duplicateError(dups[0])
	}
	if err != nil {
		return Lead{}, fmt.Errorf("merchant: create lead: %w", pg.Classify(err))
	}
	return leadView(p, row), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// CodeDuplicate is the code of a lead refused as a duplicate.
const CodeDuplicate = "merchant.lead_duplicate"

// GetLead returns one lead in the caller's scope of merchant.lead.read, or one in the
// public pool; anything else (or no permission at all) is "not found".
func (s *Service) GetLead(ctx context.Context, p *identity.Principal, id uuid.UUID) (Lead, error) {
	if err := principal(p); err != nil {
		return Lead{}, err
	}
	q := merchantdb.New(s.db)
	l, err := q.GetLead(ctx, id)
	if err != nil {
		return Lead{}, notFound(err, "merchant.lead")
	}
	if ok, err := canSee(ctx, q, p, l); err != nil {
		return Lead{}, fmt.Errorf("merchant: get lead: %w", pg.Classify(err))
	} else if !ok && !reviewerReads(p, l) {
		return Lead{}, errs.NotFound("merchant.lead")
	}
	out := []Lead{leadView(p, l)}
	if err := s.withReclaim(ctx, out, []merchantdb.MerchantLead{l}); err != nil {
		return Lead{}, err
	}
	return out[0], nil
}

// canSee reports whether p may read l: a held lead in p's scope of merchant.lead.read;
// a pool lead when p belongs to its pool or its unit is in that scope.
func canSee(ctx context.Context, q *merchantdb.Queries, p *identity.Principal, l merchantdb.MerchantLead) (bool, error) {
	if !p.Can(identity.PermLeadRead) {
		return false, nil
	}
	if p.Scope(identity.PermLeadRead).Allows(leadRow(l)) {
		return true, nil
	}
	if l.OwnerID.Valid {
		return false, nil
	}
	role, err := membership(ctx, q, p, l.PoolID)
	return role != "", err
}

// LeadFilter narrows ListLeads.
type LeadFilter struct {
	PoolOnly bool      // only leads in a pool
	HeldOnly bool      // only held leads
	PoolID   uuid.UUID // only this pool's leads
	OwnerID  uuid.UUID // only this rep's leads
	Stage    Stage     // only this stage
	Query    string    // a fragment of the name, the address or the phone
	Level    string    // only this level
	// HandedOver: only leads that came back to the pool when their rep left (until taken).
	HandedOver bool
	// Sort is name, created or updated, descending with a leading '-'; "" by id.
	Sort  string
	After uuid.UUID // cursor: leads after this one (in the sort's order)
	Limit int       // default 50, at most 200
}

// leadSorts are the orders a lead list may take.
var leadSorts = []string{"", "name", "-name", "created", "-created", "updated", "-updated"}

// ListLeads returns the leads in the caller's scope and those of their pools, a page
// at a time, and the cursor of the next page (uuid.Nil at the end).
func (s *Service) ListLeads(ctx context.Context, p *identity.Principal, f LeadFilter) ([]Lead, uuid.UUID, error) {
	if err := principal(p); err != nil {
		return nil, uuid.Nil, err
	}
	sc, err := p.Require(identity.PermLeadRead)
	if err != nil {
		return nil, uuid.Nil, err
	}
	if f.Stage != "" && !slices.Contains(allStages, f.Stage) {
		return nil, uuid.Nil, errs.Invalidf("stage", "no such stage %q", f.Stage)
	}
	if !slices.Contains(leadSorts, f.Sort) {
		return nil, uuid.Nil, errs.Invalidf("sort", "sort by name, created or updated (a leading - for descending)")
	}
	level, err := normalizeLevel(f.Level)
	if err != nil {
		return nil, uuid.Nil, err
	}
	q := merchantdb.New(s.db)
	pools, err := q.MemberPoolIDs(ctx, merchantdb.MemberPoolIDsParams{UnitID: p.User.OrgUnitID, UserID: p.User.ID})
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("merchant: list leads: %w", pg.Classify(err))
	}
	limit := int(pg.PageLimit(f.Limit))
	params := merchantdb.ListVisibleLeadsParams{ScopeAll: sc.SeesAll(), ScopeOwnerIds: sc.OwnerIDs(),
		ScopeOrgUnitIds: sc.OrgUnitIDs(), MemberPoolIds: pools, PoolOnly: f.PoolOnly, HeldOnly: f.HeldOnly,
		PoolID: nullUUID(f.PoolID), OwnerID: nullUUID(f.OwnerID), AfterID: nullUUID(f.After), MaxRows: int32(limit + 1),
		HandedOver: f.HandedOver, Sort: f.Sort}
	if level != "" {
		params.Level = &level
	}
	if f.Stage != "" {
		st := string(f.Stage)
		params.Stage = &st
	}
	if qs := strings.TrimSpace(f.Query); qs != "" {
		params.Q = &qs
		if digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, qs); len(digits) >= 3 {
			params.Phone = &digits
		}
	}
	rows, err := q.ListVisibleLeads(ctx, params)
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("merchant: list leads: %w", pg.Classify(err))
	}
	rows, next := pg.TrimPage(rows, limit, func(r merchantdb.MerchantLead) uuid.UUID { return r.ID })
	out := make([]Lead, len(rows))
	for i, r := range rows {
		out[i] = leadView(p, r)
	}
	if err := s.withReclaim(ctx, out, rows); err != nil {
		return nil, uuid.Nil, err
	}
	return out, next, nil
}

// writable loads a lead for update and checks it is in the caller's scope of perm.
func writable(ctx context.Context, q *merchantdb.Queries, p *identity.Principal, perm identity.Permission, id uuid.UUID) (merchantdb.MerchantLead, error) {
	l, err := q.GetLeadForUpdate(ctx, id)
	if err != nil {
		return l, notFound(err, "merchant.lead")
	}
	if ok, err := canSee(ctx, q, p, l); err != nil {
		return l, err
	} else if !ok {
		return l, errs.NotFound("merchant.lead")
	}
	sc, err := p.Require(perm)
	if err != nil {
		return l, err
	}
	if !l.OwnerID.Valid && !sc.SeesAll() {
		return l, errs.E(errs.KindConflict, "merchant.lead_in_pool", "claim the lead from the pool first")
	}
	if !sc.Allows(leadRow(l)) {
		return l, errs.NotFound("merchant.lead")
	}
	return l, nil
}
