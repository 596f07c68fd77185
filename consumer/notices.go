package consumer

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
)

// Notice kinds.
const NoticeTierDrop = "tier_drop" // the tier will drop at the period's end unless Missing is reached

// Notice is something the member was told (the mini-program lists them; the member's
// 360 shows them).
type Notice struct {
	ID        uuid.UUID `json:"id"`
	Kind      string    `json:"kind"`
	Tier      string    `json:"tier"`
	Metric    string    `json:"metric"`  // growth (fen) or points
	Missing   int64     `json:"missing"` // still needed by the period's end to keep the tier
	PeriodEnd time.Time `json:"period_end"`
	// LastDay is the period's last day (Asia/Shanghai), as a member reads it.
	LastDay   string    `json:"last_day"`
	CreatedAt time.Time `json:"created_at"`
}

// MyNotices is the member's own notices, newest first (consumerID is the
// authenticated consumer).
func (s *Service) MyNotices(ctx context.Context, consumerID uuid.UUID) ([]Notice, error) {
	if _, err := s.balance(ctx, consumerID); err != nil {
		return nil, err
	}
	return s.notices(ctx, consumerID)
}

func (s *Service) notices(ctx context.Context, consumerID uuid.UUID) ([]Notice, error) {
	rows, err := consumerdb.New(s.db).MemberNotices(ctx, consumerdb.MemberNoticesParams{ConsumerID: consumerID, Lim: 50})
	if err != nil {
		return nil, wrap("notices", err)
	}
	out := make([]Notice, len(rows))
	for i, r := range rows {
		out[i] = Notice{ID: r.ID, Kind: r.Kind, Tier: r.Tier, Metric: r.Metric, Missing: r.Missing, PeriodEnd: r.PeriodEnd,
			LastDay: lastDay(r.PeriodEnd), CreatedAt: r.CreatedAt}
	}
	return out, nil
}
