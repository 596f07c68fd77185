package merchant

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// OnboardingState mirrors WeChat Pay's sub-merchant application states (特约商户进件,
// APPLYMENT_STATE_*): EDITTING → AUDITING → REJECTED | TO_BE_CONFIRMED → TO_BE_SIGNED →
// SIGNING → FINISHED; FROZEN and CANCELED. Before Tandem submits to WeChat the state is
// Tandem's own (editing while the rep prepares or changes it, auditing while the
// reviewer reviews it); after, it is WeChat's as last synced.
type OnboardingState string

const (
	OnboardingEditing       OnboardingState = "editing"
	OnboardingAuditing      OnboardingState = "auditing"
	OnboardingRejected      OnboardingState = "rejected"
	OnboardingToBeConfirmed OnboardingState = "to_be_confirmed"
	OnboardingToBeSigned    OnboardingState = "to_be_signed"
	OnboardingSigning       OnboardingState = "signing"
	OnboardingFinished      OnboardingState = "finished"
	OnboardingFrozen        OnboardingState = "frozen"
	OnboardingCanceled      OnboardingState = "canceled"
)

// OnboardingStates lists the states in the order an application moves through them.
func OnboardingStates() []OnboardingState {
	return []OnboardingState{OnboardingEditing, OnboardingAuditing, OnboardingRejected, OnboardingToBeConfirmed,
		OnboardingToBeSigned, OnboardingSigning, OnboardingFinished, OnboardingFrozen, OnboardingCanceled}
}

// Review is the reviewer's decision, beside WeChat's state: a shop goes live when
// WeChat says finished and the review is approved.
type Review string

const (
	ReviewPending         Review = "pending"
	ReviewApproved        Review = "approved"
	ReviewChangeRequested Review = "change_requested"
	ReviewRejected        Review = "rejected"
)

// Onboarding is a shop's application to go live.
type Onboarding struct {
	LeadID       uuid.UUID       `json:"lead_id"`
	ContractID   uuid.UUID       `json:"contract_id"`
	State        OnboardingState `json:"state"`
	Review       Review          `json:"review"`
	SubmittedBy  uuid.UUID       `json:"submitted_by"`
	SubmittedAt  time.Time       `json:"submitted_at"`
	ReviewerID   *uuid.UUID      `json:"reviewer_id"`
	ReviewedAt   *time.Time      `json:"reviewed_at"`
	Reason       string          `json:"reason"`
	BusinessCode string          `json:"business_code,omitempty"` // our number for it at WeChat
	ApplymentID  int64           `json:"applyment_id,omitempty"`  // WeChat's
	WxState      string          `json:"wx_state,omitempty"`      // APPLYMENT_STATE_... as last synced
	SubMchID     string          `json:"sub_mchid,omitempty"`
	SignURL      string          `json:"sign_url,omitempty"`
	SyncedAt     *time.Time      `json:"synced_at,omitempty"`
}

func onboardingOf(o merchantdb.MerchantOnboarding) Onboarding {
	out := Onboarding{LeadID: o.LeadID, ContractID: o.ContractID, State: OnboardingState(o.State), Review: Review(o.Review),
		SubmittedBy: o.SubmittedBy, SubmittedAt: o.SubmittedAt.UTC(), ReviewerID: ptr(o.ReviewerID), ReviewedAt: o.ReviewedAt,
		Reason: o.Reason, WxState: o.WxState, SubMchID: o.SubMchid, SignURL: o.SignUrl, SyncedAt: o.SyncedAt}
	if o.BusinessCode != nil {
		out.BusinessCode = *o.BusinessCode
	}
	if o.ApplymentID.Valid {
		out.ApplymentID = o.ApplymentID.Int64
	}
	return out
}

// history appends one step of an application's history in tx.
func onboardingHistory(ctx context.Context, q *merchantdb.Queries, o merchantdb.MerchantOnboarding, event, note string, by uuid.UUID, at time.Time) error {
	return q.InsertOnboardingHistory(ctx, merchantdb.InsertOnboardingHistoryParams{ID: newID(), LeadID: o.LeadID, Event: event,
		State: o.State, Review: o.Review, Note: note, ByUser: nullUUID(by), At: at})
}

// SubmitOnboarding sends a signed lead's application to review (auditing); a rejected
// application is resubmitted the same way.
func (s *Service) SubmitOnboarding(ctx context.Context, p *identity.Principal, leadID uuid.UUID) (Onboarding, error) {
	if err := principal(p); err != nil {
		return Onboarding{}, err
	}
	var out Onboarding
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, err := writable(ctx, q, p, identity.PermLeadWrite, leadID)
		if err != nil {
			return err
		}
		now := s.now()
		o, err := q.GetOnboardingForUpdate(ctx, l.ID)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if Stage(l.Stage) != StageSigned {
				return &errs.Error{Kind: errs.KindConflict, Code: "merchant.illegal_stage", Field: "stage",
					Message: fmt.Sprintf("only a signed lead goes to onboarding, not a %s one", l.Stage)}
			}
			c, err := q.GetContractByLead(ctx, l.ID)
			if err != nil {
				return err
			}
			o = merchantdb.MerchantOnboarding{ID: newID(), LeadID: l.ID, ContractID: c.ID, State: string(OnboardingAuditing),
				Review: string(ReviewPending), SubmittedBy: p.User.ID, SubmittedAt: now}
			if err := q.InsertOnboarding(ctx, merchantdb.InsertOnboardingParams{ID: o.ID, LeadID: o.LeadID,
				ContractID: o.ContractID, State: o.State, SubmittedBy: o.SubmittedBy, SubmittedAt: now}); err != nil {
				return err
			}
			if _, err := s.setStage(ctx, tx, q, p, l, StageOnboarding, systemReason(ReasonOnboardingSubmitted)); err != nil {
				return err
			}
		case err != nil:
			return err
		case o.State == string(OnboardingEditing) || o.State == string(OnboardingRejected):
			if err := q.ResubmitOnboarding(ctx, merchantdb.ResubmitOnboardingParams{LeadID: l.ID, SubmittedBy: p.User.ID, SubmittedAt: now}); err != nil {
				return err
			}
			o.State, o.Review, o.SubmittedBy, o.SubmittedAt, o.ReviewerID, o.ReviewedAt, o.Reason = string(OnboardingAuditing), string(ReviewPending), p.User.ID, now, uuid.NullUUID{}, nil, ""
		default:
			// One application per shop: one under way is not submitted twice.
			return onboardingState(o.State, "submitted")
		}
		if err := onboardingHistory(ctx, q, o, "submitted", "", p.User.ID, now); err != nil {
			return err
		}
		out = onboardingOf(o)
		return record(ctx, tx, p, "merchant.onboarding.submit", "merchant.lead", l.ID, nil, out)
	})
	if err != nil {
		return Onboarding{}, fmt.Errorf("merchant: submit onboarding: %w", pg.Classify(err))
	}
	return out, nil
}

func onboardingState(state, verb string) error {
	return &errs.Error{Kind: errs.KindConflict, Code: "merchant.onboarding_state", Field: "state",
		Message: fmt.Sprintf("an application that is %s cannot be %s", state, verb)}
}

// reviewable loads a lead's application for update, for a reviewer who may see the lead.
func reviewable(ctx context.Context, q *merchantdb.Queries, p *identity.Principal, leadID uuid.UUID) (merchantdb.MerchantLead, merchantdb.MerchantOnboarding, error) {
	var o merchantdb.MerchantOnboarding
	sc, err := p.Require(identity.PermOnboardingReview)
	if err != nil {
		return merchantdb.MerchantLead{}, o, err
	}
	l, err := q.GetLeadForUpdate(ctx, leadID)
	if err != nil {
		return l, o, notFound(err, "merchant.lead")
	}
	if !sc.Allows(leadRow(l)) {
		return l, o, errs.NotFound("merchant.lead")
	}
	o, err = q.GetOnboardingForUpdate(ctx, leadID)
	if err != nil {
		return l, o, notFound(err, "merchant.onboarding")
	}
	if o.State != string(OnboardingAuditing) || o.Review != string(ReviewPending) {
		return l, o, onboardingState(o.State+"/"+o.Review, "reviewed")
	}
	return l, o, nil
}

// RejectOnboarding turns an application down with a reason; the rep may submit it
// again after fixing it.
func (s *Service) RejectOnboarding(ctx context.Context, p *identity.Principal, leadID uuid.UUID, reason string) (Onboarding, error) {
	return s.sendBack(ctx, p, leadID, reason, OnboardingRejected, ReviewRejected, "merchant.onboarding.reject")
}

// RequestChange sends an application back to the rep for a change (a blurred licence,
// a missing storefront photo): it is editing again until the rep resubmits it.
func (s *Service) RequestChange(ctx context.Context, p *identity.Principal, leadID uuid.UUID, reason string) (Onboarding, error) {
	return s.sendBack(ctx, p, leadID, reason, OnboardingEditing, ReviewChangeRequested, "merchant.onboarding.request_change")
}

func (s *Service) sendBack(ctx context.Context, p *identity.Principal, leadID uuid.UUID, reason string, state OnboardingState, review Review, action string) (Onboarding, error) {
	if err := principal(p); err != nil {
		return Onboarding{}, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Onboarding{}, errs.Invalidf("reason", "say why the application goes back")
	}
	var out Onboarding
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, o, err := reviewable(ctx, q, p, leadID)
		if err != nil {
			return err
		}
		now := s.now()
		before := onboardingOf(o)
		o, err = q.SetOnboardingState(ctx, merchantdb.SetOnboardingStateParams{LeadID: l.ID, State: string(state), Review: string(review),
			Reason: reason, ReviewerID: nullUUID(p.User.ID), ReviewedAt: &now})
		if err != nil {
			return err
		}
		if err := onboardingHistory(ctx, q, o, string(review), reason, p.User.ID, now); err != nil {
			return err
		}
		out = onboardingOf(o)
		return record(ctx, tx, p, action, "merchant.lead", l.ID, before, out)
	})
	if err != nil {
		return Onboarding{}, fmt.Errorf("merchant: %s: %w", action, pg.Classify(err))
	}
	return out, nil
}

// Approval is what the reviewer gives when approving. With SubMchID, the shop's
// application was made on WeChat's platform by hand and WeChat's number is entered
// here: the shop goes live at once. Without it, Tandem submits the application to
// WeChat (Ports.Applyments) and the shop goes live when WeChat says finished.
type Approval struct {
	SubMchID   string
	WebhookURL string
}

func (a *Approval) validate(wechat bool) error {
	a.SubMchID, a.WebhookURL = strings.TrimSpace(a.SubMchID), strings.TrimSpace(a.WebhookURL)
	if a.SubMchID != "" || !wechat {
		if n := len(a.SubMchID); n < 8 || n > 32 || strings.Trim(a.SubMchID, "0123456789") != "" {
			return errs.Invalidf("sub_mchid", "sub_mchid must be WeChat Pay's sub-merchant number (digits)")
		}
	}
	if a.WebhookURL != "" {
		u, err := url.Parse(a.WebhookURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return errs.Invalidf("webhook_url", "webhook_url must be an http(s) URL")
		}
	}
	return nil
}

// Approved is the result of ApproveOnboarding: the application, and once live the
// merchant, its webhook secret (shown once) and its owner's login with the owner's
// invitation (a single-use link for the owner to set their own password; empty when
// the owner account could not be made, see OwnerError, or already existed).
type Approved struct {
	Onboarding    Onboarding `json:"onboarding"`
	Live          bool       `json:"live"`
	Merchant      Merchant   `json:"merchant"`
	WebhookSecret string     `json:"webhook_secret,omitempty"`
	OwnerLogin    string     `json:"owner_login,omitempty"`
	// OwnerInvitation is the owner's single-use link ("/invite/<token>", on the
	// console's host) for the reviewer to forward; shown once.
	OwnerInvitation string `json:"owner_invitation,omitempty"`
	OwnerError      string `json:"owner_error,omitempty"`
}

// CodeSubMchIDTaken: the sub-merchant number is another merchant's.
const CodeSubMchIDTaken = "merchant.sub_mchid_taken"

// ApproveOnboarding records the reviewer's approval of an application under review.
// With a sub-merchant number the shop goes live in the same transaction (goLive);
// without one the application is submitted to WeChat and goes live when a sync finds
// it finished. The approval is audited either way.
func (s *Service) ApproveOnboarding(ctx context.Context, p *identity.Principal, leadID uuid.UUID, a Approval) (Approved, error) {
	return s.approve(ctx, p, leadID, a, fixedMerchant{})
}

// fixedMerchant is the demo's: the id its live merchant takes (identity's demo
// merchant, so the demo owner logins are bound to a real one) and its owner's login.
// The zero value: a new id and a new owner login.
type fixedMerchant struct {
	ID         uuid.UUID
	OwnerLogin string
}

func (s *Service) approve(ctx context.Context, p *identity.Principal, leadID uuid.UUID, a Approval, fixed fixedMerchant) (Approved, error) {
	if err := principal(p); err != nil {
		return Approved{}, err
	}
	if err := a.validate(s.applyments != nil); err != nil {
		return Approved{}, err
	}
	var out Approved
	var live *liveMerchant
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, o, err := reviewable(ctx, q, p, leadID)
		if err != nil {
			return err
		}
		now := s.now()
		before := onboardingOf(o)
		state := OnboardingAuditing
		if a.SubMchID != "" {
			state = OnboardingFinished
		}
		if o, err = q.SetOnboardingState(ctx, merchantdb.SetOnboardingStateParams{LeadID: l.ID, State: string(state),
			Review: string(ReviewApproved), ReviewerID: nullUUID(p.User.ID), ReviewedAt: &now}); err != nil {
			return err
		}
		if err := onboardingHistory(ctx, q, o, string(ReviewApproved), a.SubMchID, p.User.ID, now); err != nil {
			return err
		}
		out.Onboarding = onboardingOf(o)
		if err := record(ctx, tx, p, "merchant.onboarding.approve", "merchant.lead", l.ID, before, out.Onboarding); err != nil {
			return err
		}
		if a.SubMchID == "" {
			return nil
		}
		live, err = s.goLive(ctx, tx, q, p, l, o, a.SubMchID, a.WebhookURL, fixed.ID)
		if err == nil && fixed.OwnerLogin != "" {
			_, err = q.SetOwnerLogin(ctx, merchantdb.SetOwnerLoginParams{ID: live.m.ID, OwnerLogin: &fixed.OwnerLogin})
			live.m.OwnerLogin, live.fixedOwner = fixed.OwnerLogin, true
		}
		return err
	})
	if err != nil {
		return Approved{}, fmt.Errorf("merchant: approve onboarding: %w", pg.Classify(err))
	}
	if live == nil {
		// To WeChat: submitted after the approval committed, so a WeChat outage
		// leaves an approved application that the sync submits later.
		o, err := s.submitToWeChat(ctx, leadID)
		if err != nil {
			s.log.WarnContext(ctx, "applyment not submitted; the sync retries", "lead", leadID, "err", err)
		} else {
			out.Onboarding = o
		}
		return out, nil
	}
	return s.finishLive(ctx, out, live), nil
}

// liveMerchant is a merchant goLive made, with what its owner's login needs.
type liveMerchant struct {
	m          Merchant
	secret     string
	phone      string
	fixedOwner bool // the demo's owner login exists already
}

// goLive creates the live merchant of an approved and finished application in tx:
// the contract's terms, the lead moved to live, the event published, audited. A
// sub-merchant number that another merchant has is refused.
func (s *Service) goLive(ctx context.Context, tx pgx.Tx, q *merchantdb.Queries, p *identity.Principal,
	l merchantdb.MerchantLead, o merchantdb.MerchantOnboarding, subMchID, webhookURL string, id uuid.UUID) (*liveMerchant, error) {
	if other, err := q.MerchantBySubMchID(ctx, subMchID); err == nil {
		return nil, &errs.Error{Kind: errs.KindConflict, Code: CodeSubMchIDTaken, Field: "sub_mchid",
			Message: fmt.Sprintf("sub-merchant number %s belongs to another merchant (%s)", subMchID, other.Name)}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	now := s.now()
	c, err := q.GetContract(ctx, o.ContractID)
	if err != nil {
		return nil, err
	}
	if id == uuid.Nil {
		id = newID()
	}
	m := merchantdb.MerchantMerchant{ID: id, LeadID: l.ID, ContractID: c.ID, Name: l.Name, Category: l.Category,
		City: l.City, Lat: l.Lat, Lng: l.Lng, OwnerID: l.OwnerID, OrgUnitID: l.OrgUnitID, Status: "live",
		SubMchid: subMchID, WebhookUrl: webhookURL, WebhookSecret: randomSecret(), CommissionRate: c.CommissionRate,
		SettlementCycle: c.SettlementCycle, LiveAt: now}
	err = q.InsertMerchant(ctx, merchantdb.InsertMerchantParams{ID: m.ID, LeadID: m.LeadID, ContractID: m.ContractID,
		Name: m.Name, Category: m.Category, City: m.City, Lat: m.Lat, Lng: m.Lng, OwnerID: m.OwnerID, OrgUnitID: m.OrgUnitID,
		SubMchid: m.SubMchid, WebhookUrl: m.WebhookUrl, WebhookSecret: m.WebhookSecret, CommissionRate: m.CommissionRate,
		SettlementCycle: m.SettlementCycle, LiveAt: now})
	if pg.IsUniqueViolation(err, "merchants_sub_mchid_key") {
		return nil, &errs.Error{Kind: errs.KindConflict, Code: CodeSubMchIDTaken, Field: "sub_mchid",
			Message: "sub-merchant number " + subMchID + " belongs to another merchant"}
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.setStage(ctx, tx, q, p, l, StageLive, systemReason(ReasonOnboardingApproved)); err != nil {
		return nil, err
	}
	if _, err := outbox.Publish(ctx, tx, events.TopicMerchantLive, m.ID.String(), events.MerchantLive{
		MerchantID: m.ID, LeadID: l.ID, Name: m.Name, Category: m.Category, City: m.City, Lat: m.Lat, Lng: m.Lng,
		SubMchID: m.SubMchid, CommissionRate: m.CommissionRate.String(), SettlementCycle: m.SettlementCycle, LiveAt: now,
		OwnerPhone: l.Phone, LicenceNo: deref(l.LicenceNo),
	}); err != nil {
		return nil, err
	}
	out := &liveMerchant{m: merchantOf(m), secret: m.WebhookSecret, phone: l.Phone}
	if err := record(ctx, tx, p, "merchant.merchant.live", "merchant.merchant", m.ID, map[string]any{"lead_id": l.ID}, out.m); err != nil {
		return nil, err
	}
	return out, nil
}

// finishLive makes the owner's login of a merchant that just went live, after its
// transaction committed; a failure leaves the merchant live (ProvisionOwner retries).
func (s *Service) finishLive(ctx context.Context, out Approved, live *liveMerchant) Approved {
	out.Live, out.Merchant, out.WebhookSecret = true, live.m, live.secret
	if live.fixedOwner {
		out.OwnerLogin = live.m.OwnerLogin
		return out
	}
	login, invitation, err := s.provisionOwner(ctx, live.m.ID, live.m.Name, live.phone)
	if err != nil {
		out.OwnerError = errs.CodeOf(err)
		if out.OwnerError == "" {
			out.OwnerError = "merchant.owner_account_failed"
		}
		return out
	}
	out.OwnerLogin, out.OwnerInvitation, out.Merchant.OwnerLogin = login, invitation, login
	return out
}

// ProvisionOwner makes the owner login of a live merchant that has none yet (after a
// failure at approval), with the owner's invitation; a merchant that has one is
// answered with it and no invitation.
func (s *Service) ProvisionOwner(ctx context.Context, p *identity.Principal, merchantID uuid.UUID) (login, invitation string, err error) {
	if err := principal(p); err != nil {
		return "", "", err
	}
	sc, err := p.Require(identity.PermOnboardingReview)
	if err != nil {
		return "", "", err
	}
	q := merchantdb.New(s.db)
	m, err := q.GetMerchant(ctx, merchantID)
	if err != nil {
		return "", "", notFound(err, "merchant.merchant")
	}
	if !sc.Allows(merchantRow(m)) {
		return "", "", errs.NotFound("merchant.merchant")
	}
	if m.OwnerLogin != nil {
		return *m.OwnerLogin, "", nil
	}
	l, err := q.GetLead(ctx, m.LeadID)
	if err != nil {
		return "", "", notFound(err, "merchant.lead")
	}
	return s.provisionOwner(ctx, m.ID, m.Name, l.Phone)
}

func (s *Service) provisionOwner(ctx context.Context, merchantID uuid.UUID, name, phone string) (string, string, error) {
	if s.owners == nil {
		return "", "", errs.E(errs.KindUnavailable, "merchant.owner_accounts_unset", "owner accounts are not configured")
	}
	login, invitation, err := s.owners.CreateMerchantOwner(ctx, merchantID, name, phone)
	if err != nil {
		return "", "", fmt.Errorf("merchant: owner account: %w", err)
	}
	if _, err := merchantdb.New(s.db).SetOwnerLogin(ctx, merchantdb.SetOwnerLoginParams{ID: merchantID, OwnerLogin: &login}); err != nil {
		return "", "", fmt.Errorf("merchant: owner login: %w", pg.Classify(err))
	}
	return login, invitation, nil
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
