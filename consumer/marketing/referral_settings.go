package marketing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/marketing/internal/marketingdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

// ReferralSettings are the referral programme's rules: what the referrer and the
// invitee each earn, and how many days the invitee's first paid order must go
// unrefunded before both are rewarded.
type ReferralSettings struct {
	ReferrerPoints int64      `json:"referrer_points"`
	InviteePoints  int64      `json:"invitee_points"`
	WindowDays     int        `json:"window_days"`
	UpdatedAt      *time.Time `json:"updated_at,omitempty"` // nil: the configuration's defaults
}

// CodeReferralSettingsInvalid refuses settings out of bounds, naming the field.
const CodeReferralSettingsInvalid = "marketing.referral_settings_invalid"

func settingsError(field, format string, args ...any) error {
	return errs.E(errs.KindInvalid, CodeReferralSettingsInvalid, fmt.Sprintf(format, args...)).WithField(field)
}

// The settings' bounds.
const (
	maxReferralPoints     = 100_000
	maxReferralWindowDays = 90
)

// Referral programme figures: referrals by state.
type ReferralFigures struct {
	Pending, Rewarded, Void int64
}

// ReferralProgramme is the settings, the figures and the latest referrals.
type ReferralProgramme struct {
	Settings ReferralSettings
	Figures  ReferralFigures
	Latest   []marketingdb.MarketingReferral
}

// referralSettings are the settings in force: the operators' row, or the
// configuration's defaults.
func (s *Service) referralSettings(ctx context.Context, q *marketingdb.Queries) (ReferralSettings, error) {
	r, err := q.GetReferralSettings(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		return ReferralSettings{ReferrerPoints: s.cfg.ReferrerPoints, InviteePoints: s.cfg.InviteePoints,
			WindowDays: int(s.cfg.ReferralWindow / (24 * time.Hour))}, nil
	}
	if err != nil {
		return ReferralSettings{}, fmt.Errorf("marketing: referral settings: %w", err)
	}
	return ReferralSettings{ReferrerPoints: r.ReferrerPoints, InviteePoints: r.InviteePoints, WindowDays: int(r.WindowDays),
		UpdatedAt: &r.UpdatedAt}, nil
}

// window is how long a first order must survive: the configured duration until an
// operator sets whole days.
func (s *Service) window(st ReferralSettings) time.Duration {
	if st.UpdatedAt == nil {
		return s.cfg.ReferralWindow
	}
	return time.Duration(st.WindowDays) * 24 * time.Hour
}

// GetReferralProgramme is the programme's settings, figures and latest referrals.
func (s *Service) GetReferralProgramme(ctx context.Context, p *identity.Principal) (ReferralProgramme, error) {
	if err := p.RequireAll(identity.PermMemberRead, objMember); err != nil {
		return ReferralProgramme{}, err
	}
	q := marketingdb.New(s.db)
	st, err := s.referralSettings(ctx, q)
	if err != nil {
		return ReferralProgramme{}, err
	}
	out := ReferralProgramme{Settings: st}
	counts, err := q.ReferralStateCounts(ctx)
	if err != nil {
		return out, fmt.Errorf("marketing: referral figures: %w", err)
	}
	for _, c := range counts {
		switch c.State {
		case "pending":
			out.Figures.Pending = c.N
		case "rewarded":
			out.Figures.Rewarded = c.N
		case "void":
			out.Figures.Void = c.N
		}
	}
	if out.Latest, err = q.ListReferrals(ctx); err != nil {
		return out, fmt.Errorf("marketing: referrals: %w", err)
	}
	return out, nil
}

// SetReferralSettings changes the programme's rules; referrals already rewarded keep
// what they got, pending ones settle under the new rules.
func (s *Service) SetReferralSettings(ctx context.Context, p *identity.Principal, in ReferralSettings) (ReferralSettings, error) {
	if err := p.RequireAll(identity.PermCampaignWrite, objMember); err != nil {
		return ReferralSettings{}, err
	}
	for _, f := range []struct {
		field string
		v     int64
	}{{"referrer_points", in.ReferrerPoints}, {"invitee_points", in.InviteePoints}} {
		if f.v < 0 || f.v > maxReferralPoints {
			return ReferralSettings{}, settingsError(f.field, "points are 0 to %d", maxReferralPoints)
		}
	}
	if in.WindowDays < 1 || in.WindowDays > maxReferralWindowDays {
		return ReferralSettings{}, settingsError("window_days", "the refund window is 1 to %d days", maxReferralWindowDays)
	}
	now := s.now()
	if err := marketingdb.New(s.db).SetReferralSettings(ctx, marketingdb.SetReferralSettingsParams{ReferrerPoints: in.ReferrerPoints,
		InviteePoints: in.InviteePoints, WindowDays: int32(in.WindowDays), UpdatedBy: p.User.ID, UpdatedAt: now}); err != nil {
		return ReferralSettings{}, fmt.Errorf("marketing: set referral settings: %w", err)
	}
	in.UpdatedAt = &now
	return in, nil
}
