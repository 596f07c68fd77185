package merchant

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// reviewerReads lets an onboarding reviewer read a lead that has reached onboarding
// within their scope: the lead they approve (they hold no merchant.lead.read).
func reviewerReads(p *identity.Principal, l merchantdb.MerchantLead) bool {
	if !slices.Contains([]Stage{StageOnboarding, StageLive}, Stage(l.Stage)) || !p.Can(identity.PermOnboardingRead) {
		return false
	}
	return p.Scope(identity.PermOnboardingRead).Allows(leadRow(l))
}

// Application is one row of the reviewer's queue: the application and its shop.
type Application struct {
	Onboarding
	ID       uuid.UUID `json:"id"`
	Name     string    `json:"name"`
	Category string    `json:"category"`
	City     string    `json:"city"`
	Address  string    `json:"address"`
}

// QueueFilter narrows the reviewer's queue.
type QueueFilter struct {
	All   bool            // every application, not only those waiting for review
	State OnboardingState // optional
	After uuid.UUID
	Limit int
}

// ListApplications is the reviewer's queue (merchant.onboarding.read, in scope): the
// applications waiting for review, oldest first, or with All every application.
func (s *Service) ListApplications(ctx context.Context, p *identity.Principal, f QueueFilter) ([]Application, uuid.UUID, error) {
	if err := principal(p); err != nil {
		return nil, uuid.Nil, err
	}
	sc, err := p.Require(identity.PermOnboardingRead)
	if err != nil {
		return nil, uuid.Nil, err
	}
	if f.State != "" && !slices.Contains(OnboardingStates(), f.State) {
		return nil, uuid.Nil, errs.Invalidf("state", "state is one of the application states (editing, auditing, ..., canceled)")
	}
	limit := pg.PageLimit(f.Limit)
	rows, err := merchantdb.New(s.db).OnboardingQueue(ctx, merchantdb.OnboardingQueueParams{AllStates: f.All || f.State != "",
		State: string(f.State), ScopeAll: sc.SeesAll(), ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs(),
		AfterID: nullUUID(f.After), MaxRows: limit + 1})
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("merchant: queue: %w", pg.Classify(err))
	}
	rows, next := pg.TrimPage(rows, int(limit), func(r merchantdb.OnboardingQueueRow) uuid.UUID { return r.ID })
	out := make([]Application, len(rows))
	for i, r := range rows {
		o := merchantdb.MerchantOnboarding{ID: r.ID, LeadID: r.LeadID, ContractID: r.ContractID, State: r.State, SubmittedBy: r.SubmittedBy,
			SubmittedAt: r.SubmittedAt, ReviewerID: r.ReviewerID, ReviewedAt: r.ReviewedAt, Reason: r.Reason, Review: r.Review,
			BusinessCode: r.BusinessCode, ApplymentID: r.ApplymentID, WxState: r.WxState, SubMchid: r.SubMchid, SignUrl: r.SignUrl, SyncedAt: r.SyncedAt}
		out[i] = Application{Onboarding: onboardingOf(o), ID: r.ID, Name: r.Name, Category: r.Category, City: r.City, Address: r.Address}
	}
	return out, next, nil
}

// OnboardingStep is one step of an application's history.
type OnboardingStep struct {
	Event  string          `json:"event"` // submitted, approved, rejected, change_requested, wechat
	State  OnboardingState `json:"state"`
	Review Review          `json:"review"`
	Note   string          `json:"note"`
	By     *uuid.UUID      `json:"by"` // null: WeChat
	At     time.Time       `json:"at"`
}

// Document is one item of a category's onboarding checklist.
type Document struct {
	Key      string         `json:"key"` // business_licence, food_licence, legal_id, bank_account, storefront
	Required bool           `json:"required"`
	Missing  bool           `json:"missing"` // required and no file yet
	Files    []DocumentFile `json:"files"`
}

// checklist is what WeChat and the category want: food shops need a food licence.
func checklist(category string) []Document {
	docs := []Document{{Key: "business_licence", Required: true}, {Key: "legal_id", Required: true},
		{Key: "bank_account", Required: true}, {Key: "storefront", Required: true}}
	if slices.Contains([]string{"restaurant", "food", "snack", "dessert", "bakery", "tea", "coffee"}, category) {
		docs = append(docs, Document{Key: "food_licence", Required: true})
	}
	return docs
}

// ApplicationDetail is everything a reviewer needs on one page: the shop, its
// contract, the application with its checklist, and the histories.
type ApplicationDetail struct {
	Lead       Lead             `json:"lead"`
	Contract   Contract         `json:"contract"`
	Onboarding Onboarding       `json:"onboarding"`
	Documents  []Document       `json:"documents"`
	History    []OnboardingStep `json:"history"`
	Stages     []StageChange    `json:"stages"`
	MerchantID *uuid.UUID       `json:"merchant_id,omitempty"` // once live
}

// GetApplication returns a lead's application for a reviewer (merchant.onboarding.read
// in scope) or for whoever may read the lead (the rep who submitted it).
func (s *Service) GetApplication(ctx context.Context, p *identity.Principal, leadID uuid.UUID) (ApplicationDetail, error) {
	var d ApplicationDetail
	lead, err := s.GetLead(ctx, p, leadID)
	if err != nil {
		return d, err
	}
	q := merchantdb.New(s.db)
	o, err := q.GetOnboarding(ctx, leadID)
	if err != nil {
		return d, notFound(err, "merchant.onboarding")
	}
	c, err := q.GetContract(ctx, o.ContractID)
	if err != nil {
		return d, fmt.Errorf("merchant: contract: %w", pg.Classify(err))
	}
	hist, err := q.ListOnboardingHistory(ctx, leadID)
	if err != nil {
		return d, fmt.Errorf("merchant: onboarding history: %w", pg.Classify(err))
	}
	stages, err := s.StageHistory(ctx, p, leadID)
	if err != nil {
		return d, err
	}
	docs, err := s.documentsOf(ctx, q, lead)
	if err != nil {
		return d, err
	}
	d = ApplicationDetail{Lead: lead, Contract: contractOf(c), Onboarding: onboardingOf(o), Documents: docs, Stages: stages}
	for _, h := range hist {
		d.History = append(d.History, OnboardingStep{Event: h.Event, State: OnboardingState(h.State), Review: Review(h.Review),
			Note: h.Note, By: ptr(h.ByUser), At: h.At.UTC()})
	}
	if m, err := q.GetMerchantByLead(ctx, leadID); err == nil {
		d.MerchantID = &m.ID
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return d, fmt.Errorf("merchant: merchant of lead: %w", pg.Classify(err))
	}
	return d, nil
}
