package merchant

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Applyments is WeChat Pay's sub-merchant application API (特约商户进件), which
// cmd/tandem adapts from shared/wxpay. Both calls are idempotent per business code.
type Applyments interface {
	SubmitApplyment(ctx context.Context, f ApplymentForm) (applymentID int64, err error)
	QueryApplyment(ctx context.Context, businessCode string) (ApplymentStatus, error)
}

// ApplymentForm is what Tandem sends WeChat about a shop.
type ApplymentForm struct {
	BusinessCode string
	ShopName     string
	Category     string
	ContactName  string
	ContactPhone string
}

// ApplymentStatus is WeChat's answer about an application.
type ApplymentStatus struct {
	State        string // APPLYMENT_STATE_...
	SubMchID     string // once finished
	SignURL      string // to_be_signed: the legal person's link
	RejectReason string
}

// stateOfWeChat maps WeChat's APPLYMENT_STATE_EDITTING (sic) and the others to ours.
func stateOfWeChat(wx string) (OnboardingState, bool) {
	s := strings.ToLower(strings.TrimPrefix(wx, "APPLYMENT_STATE_"))
	if s == "editting" {
		s = string(OnboardingEditing)
	}
	for _, st := range OnboardingStates() {
		if string(st) == s {
			return st, true
		}
	}
	return "", false
}

// businessCode is our number for a lead's application at WeChat: stable, so a
// resubmission after a rejection goes under the same number, as WeChat wants.
func businessCode(leadID uuid.UUID) string {
	return "TDM" + strings.ReplaceAll(leadID.String(), "-", "")
}

// submitToWeChat submits an approved application to WeChat and records its number.
func (s *Service) submitToWeChat(ctx context.Context, leadID uuid.UUID) (Onboarding, error) {
	if s.applyments == nil {
		return Onboarding{}, errs.E(errs.KindUnavailable, "merchant.applyments_unset", "WeChat Pay applications are not configured")
	}
	q := merchantdb.New(s.db)
	l, err := q.GetLead(ctx, leadID)
	if err != nil {
		return Onboarding{}, notFound(err, "merchant.lead")
	}
	code := businessCode(leadID)
	id, err := s.applyments.SubmitApplyment(ctx, ApplymentForm{BusinessCode: code, ShopName: l.Name, Category: l.Category,
		ContactName: l.Name, ContactPhone: l.Phone})
	if err != nil {
		return Onboarding{}, fmt.Errorf("merchant: submit applyment: %w", err)
	}
	now := s.now()
	o, err := q.SetOnboardingApplyment(ctx, merchantdb.SetOnboardingApplymentParams{LeadID: leadID, BusinessCode: &code,
		ApplymentID: pgtype.Int8{Int64: id, Valid: true}, WxState: "APPLYMENT_STATE_AUDITING", SyncedAt: &now})
	if err != nil {
		return Onboarding{}, fmt.Errorf("merchant: record applyment: %w", pg.Classify(err))
	}
	return onboardingOf(o), nil
}

// SyncApplyment reads an application's state from WeChat and mirrors it; when WeChat
// says finished and the reviewer approved, the shop goes live with WeChat's
// sub-merchant number. For reviewers (the "refresh from WeChat" button).
func (s *Service) SyncApplyment(ctx context.Context, p *identity.Principal, leadID uuid.UUID) (Approved, error) {
	if err := principal(p); err != nil {
		return Approved{}, err
	}
	sc, err := p.Require(identity.PermOnboardingReview)
	if err != nil {
		return Approved{}, err
	}
	l, err := merchantdb.New(s.db).GetLead(ctx, leadID)
	if err != nil {
		return Approved{}, notFound(err, "merchant.lead")
	}
	if !sc.Allows(leadRow(l)) {
		return Approved{}, errs.NotFound("merchant.lead")
	}
	return s.syncApplyment(ctx, p, leadID)
}

func (s *Service) syncApplyment(ctx context.Context, p *identity.Principal, leadID uuid.UUID) (Approved, error) {
	if s.applyments == nil {
		return Approved{}, errs.E(errs.KindUnavailable, "merchant.applyments_unset", "WeChat Pay applications are not configured")
	}
	cur, err := merchantdb.New(s.db).GetOnboarding(ctx, leadID)
	if err != nil {
		return Approved{}, notFound(err, "merchant.onboarding")
	}
	if cur.BusinessCode == nil {
		if cur.Review != string(ReviewApproved) || cur.State != string(OnboardingAuditing) {
			return Approved{Onboarding: onboardingOf(cur)}, nil // not at WeChat yet: nothing to read
		}
		// Approved but never submitted (WeChat was down): submit now.
		o, err := s.submitToWeChat(ctx, leadID)
		return Approved{Onboarding: o}, err
	}
	st, err := s.applyments.QueryApplyment(ctx, *cur.BusinessCode)
	if err != nil {
		return Approved{}, fmt.Errorf("merchant: query applyment: %w", err)
	}
	state, ok := stateOfWeChat(st.State)
	if !ok {
		return Approved{}, fmt.Errorf("merchant: WeChat answered the unknown applyment state %q", st.State)
	}
	var out Approved
	var live *liveMerchant
	err = s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		o, err := q.GetOnboardingForUpdate(ctx, leadID)
		if err != nil {
			return err
		}
		if o.State == string(OnboardingFinished) && o.Review == string(ReviewApproved) {
			if _, err := q.GetMerchantByLead(ctx, leadID); err == nil {
				out.Onboarding = onboardingOf(o)
				return nil // live already
			} else if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		reason := o.Reason
		if state == OnboardingRejected {
			reason = st.RejectReason
		}
		// Until the reviewer approves (again, after a resubmission) the state is
		// ours; WeChat's word is only recorded.
		ours := o.Review != string(ReviewApproved)
		newState := string(state)
		if ours {
			newState, reason = o.State, o.Reason
		}
		changed := newState != o.State || st.State != o.WxState
		now := s.now()
		if o, err = q.SyncOnboarding(ctx, merchantdb.SyncOnboardingParams{LeadID: leadID, State: newState, WxState: st.State,
			SubMchid: st.SubMchID, SignUrl: st.SignURL, Reason: reason, SyncedAt: &now}); err != nil {
			return err
		}
		if changed {
			if err := onboardingHistory(ctx, q, o, "wechat", st.State+" "+st.RejectReason, uuid.Nil, now); err != nil {
				return err
			}
		}
		out.Onboarding = onboardingOf(o)
		if o.State != string(OnboardingFinished) || o.Review != string(ReviewApproved) || st.SubMchID == "" {
			return nil
		}
		l, err := q.GetLeadForUpdate(ctx, leadID)
		if err != nil {
			return err
		}
		live, err = s.goLive(ctx, tx, q, p, l, o, st.SubMchID, "", uuid.Nil)
		return err
	})
	if err != nil {
		return Approved{}, fmt.Errorf("merchant: sync applyment: %w", pg.Classify(err))
	}
	if live == nil {
		return out, nil
	}
	return s.finishLive(ctx, out, live), nil
}

// SyncApplyments mirrors up to limit applications WeChat is working on, least
// recently synced first: the scheduled task "merchant:applyments". It returns how
// many went live.
func (s *Service) SyncApplyments(ctx context.Context, limit int) (int, error) {
	if s.applyments == nil {
		return 0, nil
	}
	ids, err := merchantdb.New(s.db).OnboardingAtWeChat(ctx, int32(limit))
	if err != nil {
		return 0, fmt.Errorf("merchant: applications at WeChat: %w", err)
	}
	live := 0
	for _, id := range ids {
		a, err := s.syncApplyment(ctx, identity.System(), id)
		if err != nil {
			s.log.WarnContext(ctx, "applyment sync", "lead", id, "err", err)
			continue
		}
		if a.Live {
			live++
		}
	}
	return live, nil
}
