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

// OnboardingState mirrors WeChat Pay's sub-merchant application states (特约商户进件).
type OnboardingState string

const (
	OnboardingEditing  OnboardingState = "editing"
	OnboardingAuditing OnboardingState = "auditing"
	OnboardingRejected OnboardingState = "rejected"
	OnboardingFinished OnboardingState = "finished"
)

// Onboarding is a shop's application to go live.
type Onboarding struct {
	LeadID      uuid.UUID       `json:"lead_id"`
	ContractID  uuid.UUID       `json:"contract_id"`
	State       OnboardingState `json:"state"`
	SubmittedBy uuid.UUID       `json:"submitted_by"`
	SubmittedAt time.Time       `json:"submitted_at"`
	ReviewerID  *uuid.UUID      `json:"reviewer_id"`
	ReviewedAt  *time.Time      `json:"reviewed_at"`
	Reason      string          `json:"reason"`
}

func onboardingOf(o merchantdb.MerchantOnboarding) Onboarding {
	return Onboarding{LeadID: o.LeadID, ContractID: o.ContractID, State: OnboardingState(o.State), SubmittedBy: o.SubmittedBy,
		SubmittedAt: o.SubmittedAt.UTC(), ReviewerID: ptr(o.ReviewerID), ReviewedAt: o.ReviewedAt, Reason: o.Reason}
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
				SubmittedBy: p.User.ID, SubmittedAt: now}
			if err := q.InsertOnboarding(ctx, merchantdb.InsertOnboardingParams{ID: o.ID, LeadID: o.LeadID,
				ContractID: o.ContractID, State: o.State, SubmittedBy: o.SubmittedBy, SubmittedAt: now}); err != nil {
				return err
			}
			if _, err := s.setStage(ctx, tx, q, p, l, StageOnboarding, "onboarding submitted"); err != nil {
				return err
			}
		case err != nil:
			return err
		case o.State == string(OnboardingEditing) || o.State == string(OnboardingRejected):
			if err := q.ResubmitOnboarding(ctx, merchantdb.ResubmitOnboardingParams{LeadID: l.ID, SubmittedBy: p.User.ID, SubmittedAt: now}); err != nil {
				return err
			}
			o.State, o.SubmittedBy, o.SubmittedAt, o.ReviewerID, o.ReviewedAt, o.Reason = string(OnboardingAuditing), p.User.ID, now, uuid.NullUUID{}, nil, ""
		default:
			return onboardingState(o.State, "submitted")
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
	if o.State != string(OnboardingAuditing) {
		return l, o, onboardingState(o.State, "reviewed")
	}
	return l, o, nil
}

// RejectOnboarding sends an application back with a reason; the rep may resubmit it.
func (s *Service) RejectOnboarding(ctx context.Context, p *identity.Principal, leadID uuid.UUID, reason string) (Onboarding, error) {
	if err := principal(p); err != nil {
		return Onboarding{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return Onboarding{}, errs.Invalidf("reason", "say why the application is rejected")
	}
	var out Onboarding
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, o, err := reviewable(ctx, q, p, leadID)
		if err != nil {
			return err
		}
		now := s.now()
		if err := q.ReviewOnboarding(ctx, merchantdb.ReviewOnboardingParams{LeadID: l.ID, State: string(OnboardingRejected),
			ReviewerID: nullUUID(p.User.ID), ReviewedAt: &now, Reason: reason}); err != nil {
			return err
		}
		o.State, o.ReviewerID, o.ReviewedAt, o.Reason = string(OnboardingRejected), nullUUID(p.User.ID), &now, reason
		out = onboardingOf(o)
		return record(ctx, tx, p, "merchant.onboarding.reject", "merchant.lead", l.ID, nil, out)
	})
	if err != nil {
		return Onboarding{}, fmt.Errorf("merchant: reject onboarding: %w", pg.Classify(err))
	}
	return out, nil
}

// Approval is what the reviewer gives when approving: the sub-merchant number WeChat
// Pay assigned (特约商户号) and, optionally, the merchant's webhook address.
type Approval struct {
	SubMchID   string
	WebhookURL string
}

func (a *Approval) validate() error {
	a.SubMchID, a.WebhookURL = strings.TrimSpace(a.SubMchID), strings.TrimSpace(a.WebhookURL)
	if n := len(a.SubMchID); n < 8 || n > 32 || strings.Trim(a.SubMchID, "0123456789") != "" {
		return errs.Invalidf("sub_mchid", "sub_mchid must be WeChat Pay's sub-merchant number (digits)")
	}
	if a.WebhookURL != "" {
		u, err := url.Parse(a.WebhookURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return errs.Invalidf("webhook_url", "webhook_url must be an http(s) URL")
		}
	}
	return nil
}

// Approved is the result of ApproveOnboarding: the live merchant, its webhook secret
// (shown once) and its owner's login (the password shown once; empty when the owner
// account could not be made, see OwnerError, or already existed).
type Approved struct {
	Merchant      Merchant `json:"merchant"`
	WebhookSecret string   `json:"webhook_secret"`
	OwnerLogin    string   `json:"owner_login"`
	OwnerPassword string   `json:"owner_password,omitempty"`
	OwnerError    string   `json:"owner_error,omitempty"`
}

// ApproveOnboarding finishes an application under review: in one transaction the
// merchant is created live with the contract's terms, the lead moves to live, the
// approval is audited and events.TopicMerchantLive is published. Then the merchant's owner
// gets a login through OwnerAccounts; when that fails the merchant stays live and
// ProvisionOwner makes the login later.
func (s *Service) ApproveOnboarding(ctx context.Context, p *identity.Principal, leadID uuid.UUID, a Approval) (Approved, error) {
	if err := principal(p); err != nil {
		return Approved{}, err
	}
	if err := a.validate(); err != nil {
		return Approved{}, err
	}
	var out Approved
	var phone string
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, o, err := reviewable(ctx, q, p, leadID)
		if err != nil {
			return err
		}
		now := s.now()
		if err := q.ReviewOnboarding(ctx, merchantdb.ReviewOnboardingParams{LeadID: l.ID, State: string(OnboardingFinished),
			ReviewerID: nullUUID(p.User.ID), ReviewedAt: &now}); err != nil {
			return err
		}
		c, err := q.GetContract(ctx, o.ContractID)
		if err != nil {
			return err
		}
		m := merchantdb.MerchantMerchant{ID: newID(), LeadID: l.ID, ContractID: c.ID, Name: l.Name, Category: l.Category,
			City: l.City, Lat: l.Lat, Lng: l.Lng, OwnerID: l.OwnerID, OrgUnitID: l.OrgUnitID, Status: "live",
			SubMchid: a.SubMchID, WebhookUrl: a.WebhookURL, WebhookSecret: randomSecret(), CommissionRate: c.CommissionRate,
			SettlementCycle: c.SettlementCycle, LiveAt: now}
		if err := q.InsertMerchant(ctx, merchantdb.InsertMerchantParams{ID: m.ID, LeadID: m.LeadID, ContractID: m.ContractID,
			Name: m.Name, Category: m.Category, City: m.City, Lat: m.Lat, Lng: m.Lng, OwnerID: m.OwnerID, OrgUnitID: m.OrgUnitID,
			SubMchid: m.SubMchid, WebhookUrl: m.WebhookUrl, WebhookSecret: m.WebhookSecret, CommissionRate: m.CommissionRate,
			SettlementCycle: m.SettlementCycle, LiveAt: now}); err != nil {
			return err
		}
		if _, err := s.setStage(ctx, tx, q, p, l, StageLive, "onboarding approved"); err != nil {
			return err
		}
		out.Merchant, out.WebhookSecret, phone = merchantOf(m), m.WebhookSecret, l.Phone
		if _, err := outbox.Publish(ctx, tx, events.TopicMerchantLive, m.ID.String(), events.MerchantLive{
			MerchantID: m.ID, LeadID: l.ID, Name: m.Name, Category: m.Category, City: m.City, Lat: m.Lat, Lng: m.Lng,
			SubMchID: m.SubMchid, CommissionRate: m.CommissionRate.String(), SettlementCycle: m.SettlementCycle, LiveAt: now,
		}); err != nil {
			return err
		}
		return record(ctx, tx, p, "merchant.onboarding.approve", "merchant.merchant", m.ID,
			map[string]any{"lead_id": l.ID, "onboarding": o.State}, out.Merchant)
	})
	if err != nil {
		return Approved{}, fmt.Errorf("merchant: approve onboarding: %w", pg.Classify(err))
	}
	login, password, err := s.provisionOwner(ctx, out.Merchant.ID, out.Merchant.Name, phone)
	if err != nil {
		out.OwnerError = errs.CodeOf(err)
		if out.OwnerError == "" {
			out.OwnerError = "merchant.owner_account_failed"
		}
		return out, nil
	}
	out.OwnerLogin, out.OwnerPassword, out.Merchant.OwnerLogin = login, password, login
	return out, nil
}

// ProvisionOwner makes the owner login of a live merchant that has none yet (after a
// failure at approval); a merchant that has one is answered with it and no password.
func (s *Service) ProvisionOwner(ctx context.Context, p *identity.Principal, merchantID uuid.UUID) (login, password string, err error) {
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
	login, password, err := s.owners.CreateMerchantOwner(ctx, merchantID, name, phone)
	if err != nil {
		return "", "", fmt.Errorf("merchant: owner account: %w", err)
	}
	if _, err := merchantdb.New(s.db).SetOwnerLogin(ctx, merchantdb.SetOwnerLoginParams{ID: merchantID, OwnerLogin: &login}); err != nil {
		return "", "", fmt.Errorf("merchant: owner login: %w", pg.Classify(err))
	}
	return login, password, nil
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
