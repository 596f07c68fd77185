package marketing

import (
	"context"
	"time"

	"github.com/tandemcrm/tandem/shared/domain"
)

// Register declares the domain's API routes, console pages, subscriptions and tasks.
func (s *Service) Register(r *domain.Registry) {
	r.Routes(s.mountAPI)
	r.Pages(s.pages())
	r.Subscribe(s.Subscriptions()...)
	r.Subscribe(s.couponMoveSubscriptions()...) // coupon_moves.go
	r.Schedule(s.Tasks()...)
}

// Tasks are the domain's background tasks.
func (s *Service) Tasks() []domain.Task {
	return []domain.Task{
		{Type: "marketing:referral_rewards", Cron: "@every 1h", Queue: "low",
			Help:   "reward both sides of referrals whose first order survived the refund window",
			Handle: func(ctx context.Context, _ []byte) error { _, err := s.SettleReferrals(ctx); return err }},
		{Type: "marketing:campaigns", Cron: "@every 5s", Queue: "default",
			Help:   "start the campaign runs that are due and send the runs no sender holds",
			Handle: func(ctx context.Context, _ []byte) error { return s.RunDue(ctx) }},
		{Type: "marketing:triggers", Cron: "@every 1m", Queue: "default",
			Help:   "start runs of triggered campaigns for members whose birthday, first order, lapse or tier change occurred",
			Handle: func(ctx context.Context, _ []byte) error { _, err := s.FireTriggers(ctx); return err }},
		{Type: "marketing:index_snapshot", Cron: "@every 10m", Queue: "low",
			Help:   "write the segment index's snapshot to PostgreSQL and prune the change log",
			Handle: func(ctx context.Context, _ []byte) error { _, err := s.Snapshot(ctx); return err }},
		{Type: "marketing:rfm", Cron: "30 2 * * *", Unique: 23 * time.Hour, Queue: "low",
			Help:   "score every member's recency, frequency and monetary value (nightly)",
			Handle: func(ctx context.Context, _ []byte) error { _, err := s.ScoreRFM(ctx); return err }},
	}
}
