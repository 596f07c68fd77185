package consumer

import (
	"context"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Expiry roundings of the points program.
const (
	RoundDay   = "day"   // a lot lasts to the end of the same day N months later
	RoundMonth = "month" // ... to the end of that month
)

// Program is the points program's rules, one set for the platform.
type Program struct {
	// PointsPerYuan is what one whole yuan paid earns.
	PointsPerYuan int64 `json:"points_per_yuan"`
	// ExpiryMonths: a lot expires at the end of the ExpiryMonths-th month after it
	// was earned, rounded to the end of that day or month (Asia/Shanghai).
	ExpiryMonths int    `json:"expiry_months"`
	Rounding     string `json:"expiry_rounding"`
	// PendingDays is the refund window: points a payment earns are pending (not
	// spendable, not counted toward tiers) for this many days.
	PendingDays int `json:"pending_days"`
	// RemindDays: members are reminded this many days before a lot expires.
	RemindDays int `json:"remind_days"`
	// Points by action: a member's sign-up, each member they referred, each review
	// (at most ReviewsPerDay a day earn). 0 earns nothing.
	SignupPoints   int64 `json:"signup_points"`
	ReferralPoints int64 `json:"referral_points"`
	ReviewPoints   int64 `json:"review_points"`
	ReviewsPerDay  int   `json:"reviews_per_day"`
	// AdjustLimit: a staff adjustment of more points than this (either way) waits for
	// another's approval (shared/approval).
	AdjustLimit int64     `json:"adjust_limit"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// programInvalid refuses a program naming the field; the catalogues word each field's
// rule ("error.consumer.program_invalid.<field>").
func programInvalid(field, msg string) error {
	return errs.E(errs.KindInvalid, CodeProgramInvalid, msg).WithReason(field).WithField(field)
}

// Validate refuses a program naming the field at fault.
func (p Program) Validate() error {
	switch {
	case p.PointsPerYuan <= 0 || p.PointsPerYuan > 1000:
		return programInvalid("points_per_yuan", "points per yuan is 1 to 1000")
	case p.ExpiryMonths <= 0 || p.ExpiryMonths > 120:
		return programInvalid("expiry_months", "points last 1 to 120 months: an expiry of zero length is not a program")
	case p.Rounding != RoundDay && p.Rounding != RoundMonth:
		return programInvalid("expiry_rounding", `expiry rounding is "day" or "month"`)
	case p.PendingDays < 0 || p.PendingDays > 365:
		return programInvalid("pending_days", "the refund window is 0 to 365 days")
	case p.RemindDays < 0 || p.RemindDays > 365:
		return programInvalid("remind_days", "reminders go 0 to 365 days before expiry")
	case p.SignupPoints < 0 || p.SignupPoints > 100_000:
		return programInvalid("signup_points", "a sign-up earns 0 to 100,000 points")
	case p.ReferralPoints < 0 || p.ReferralPoints > 100_000:
		return programInvalid("referral_points", "a referral earns 0 to 100,000 points")
	case p.ReviewPoints < 0 || p.ReviewPoints > 100_000:
		return programInvalid("review_points", "a review earns 0 to 100,000 points")
	case p.ReviewsPerDay < 0 || p.ReviewsPerDay > 100:
		return programInvalid("reviews_per_day", "0 to 100 reviews a day earn points")
	case p.AdjustLimit < 0 || p.AdjustLimit > math.MaxInt32:
		return programInvalid("adjust_limit", "the adjustment limit is not negative")
	}
	return nil
}

// ExpiresAt is when a lot earned at t expires (exclusive: the lot is gone at this
// instant, which is midnight Asia/Shanghai after its last day).
func (p Program) ExpiresAt(t time.Time) time.Time {
	d := clock.Day(t)
	y, m, day := d.Date()
	if p.Rounding == RoundMonth {
		// the first day of the month after the ExpiryMonths-th month
		return time.Date(y, m+time.Month(p.ExpiryMonths)+1, 1, 0, 0, 0, 0, clock.Shanghai).UTC()
	}
	// the same day N months later, clamped to that month's last day, then its end
	target := time.Date(y, m+time.Month(p.ExpiryMonths), 1, 0, 0, 0, 0, clock.Shanghai)
	last := target.AddDate(0, 1, -1).Day()
	return time.Date(target.Year(), target.Month(), min(day, last)+1, 0, 0, 0, 0, clock.Shanghai).UTC()
}

// PointsFor is what a paid amount earns: PointsPerYuan for every whole yuan.
func (p Program) PointsFor(amountFen int64) int64 {
	if amountFen <= 0 {
		return 0
	}
	return amountFen / 100 * p.PointsPerYuan
}

func programOf(r consumerdb.ConsumerPointsProgram) Program {
	return Program{PointsPerYuan: int64(r.PointsPerYuan), ExpiryMonths: int(r.ExpiryMonths), Rounding: r.ExpiryRounding,
		PendingDays: int(r.PendingDays), RemindDays: int(r.RemindDays), SignupPoints: int64(r.SignupPoints),
		ReferralPoints: int64(r.ReferralPoints), ReviewPoints: int64(r.ReviewPoints), ReviewsPerDay: int(r.ReviewsPerDay),
		AdjustLimit: int64(r.AdjustLimit), UpdatedAt: r.UpdatedAt}
}

func (s *Service) program(ctx context.Context, q *consumerdb.Queries) (Program, error) {
	r, err := q.GetProgram(ctx)
	return programOf(r), err
}

// Program is the points program, for anyone who reads members.
func (s *Service) Program(ctx context.Context, caller *identity.Principal) (Program, error) {
	if _, err := memberScope(caller, identity.PermMemberRead); err != nil {
		return Program{}, err
	}
	p, err := s.program(ctx, consumerdb.New(s.db))
	return p, wrap("program", err)
}

// SetProgram changes the points program (consumer.points.adjust at scope all,
// audited). It applies to lots earned from now on; existing lots keep their expiry.
func (s *Service) SetProgram(ctx context.Context, caller *identity.Principal, in Program) (Program, error) {
	p, err := memberScope(caller, identity.PermPointsAdjust)
	if err != nil {
		return Program{}, err
	}
	if err := in.Validate(); err != nil {
		return Program{}, err
	}
	var out Program
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := consumerdb.New(tx)
		before, err := s.program(ctx, q)
		if err != nil {
			return err
		}
		r, err := q.UpdateProgram(ctx, consumerdb.UpdateProgramParams{PointsPerYuan: int32(in.PointsPerYuan),
			ExpiryMonths: int32(in.ExpiryMonths), ExpiryRounding: in.Rounding, PendingDays: int32(in.PendingDays),
			RemindDays: int32(in.RemindDays), UpdatedAt: s.now(), SignupPoints: int32(in.SignupPoints),
			ReferralPoints: int32(in.ReferralPoints), ReviewPoints: int32(in.ReviewPoints), ReviewsPerDay: int32(in.ReviewsPerDay),
			AdjustLimit: int32(in.AdjustLimit)})
		if err != nil {
			return err
		}
		out = programOf(r)
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "consumer.points.program",
			ObjectType: "consumer.points_program", ObjectID: "points", Before: before, After: out})
	})
	return out, wrap("set program", err)
}
