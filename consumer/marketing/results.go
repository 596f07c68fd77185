package marketing

import (
	"context"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/marketing/internal/marketingdb"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Attribution: a run's results count the orders its members paid from the run's
// start until AttributionDays later (net of refunds), whether or not they used the
// offer, for treatment and control alike; the difference of the two arms' GMV per
// member is what the offer added (the uplift). Redemption counts members who
// redeemed a coupon of the campaign's batch in the same window.

// ArmResult is one arm of a run.
type ArmResult struct {
	Members         int64   `json:"members"`
	Buyers          int64   `json:"buyers"`
	Redeemed        int64   `json:"redeemed"`
	GMVFen          int64   `json:"gmv_fen"`
	GMVPerMemberFen float64 `json:"gmv_per_member_fen"`
	variance        float64
}

// RunResult is a run's progress and results.
type RunResult struct {
	RunID      uuid.UUID  `json:"run_id"`
	State      string     `json:"state"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	WindowEnd  time.Time  `json:"window_end"`
	Audience   int64      `json:"audience"`
	Treated    int64      `json:"treated"`
	Control    int64      `json:"control"`
	Skipped    int64      `json:"skipped"`
	Progress   float64    `json:"progress"` // 0..1
	CostFen    int64      `json:"cost_fen"`
	Treatment  ArmResult  `json:"treatment"`
	Holdout    ArmResult  `json:"control_group"`
	// UpliftFen is treatment's minus control's GMV per member, with its 95%
	// confidence interval (normal approximation, unequal variances).
	UpliftFen      float64 `json:"uplift_per_member_fen"`
	UpliftLowFen   float64 `json:"uplift_ci95_low_fen"`
	UpliftHighFen  float64 `json:"uplift_ci95_high_fen"`
	IncrementalFen float64 `json:"incremental_gmv_fen"` // uplift × treated members
	ROI            float64 `json:"roi"`                 // (incremental GMV − cost) / cost
	// Days are the latest run's results day by day (Asia/Shanghai), each counting
	// from the run's start to the end of that day.
	Days []DayResult `json:"days,omitempty"`
}

// CampaignResults reads a campaign's runs with their results, latest first.
func (s *Service) CampaignResults(ctx context.Context, p *identity.Principal, id uuid.UUID) (Campaign, []RunResult, error) {
	c, err := s.GetCampaign(ctx, p, id)
	if err != nil {
		return c, nil, err
	}
	q := marketingdb.New(s.db)
	runs, err := q.ListRuns(ctx, id)
	if err != nil {
		return c, nil, pg.Classify(err)
	}
	out := make([]RunResult, 0, len(runs))
	for _, r := range runs {
		rr := RunResult{RunID: r.ID, State: r.State, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Audience: r.Total,
			Treated: r.Treated, Control: r.Control, Skipped: r.Skipped, CostFen: r.SpentFen,
			WindowEnd: r.StartedAt.AddDate(0, 0, c.AttributionDays)}
		if r.Total > 0 {
			rr.Progress = float64(r.Treated+r.Control+r.Skipped) / float64(r.Total)
		}
		if r.State != "sending" {
			rr.Progress = 1
		}
		if err := s.armResults(ctx, c, r.ID, r.StartedAt, rr.WindowEnd, &rr); err != nil {
			return c, nil, err
		}
		if len(out) == 0 { // the latest run, day by day
			if rr.Days, err = s.runDays(ctx, c, r.ID, r.StartedAt, rr.WindowEnd); err != nil {
				return c, nil, err
			}
		}
		out = append(out, rr)
	}
	return c, out, nil
}

// armResults fills a run's arms with the orders and redemptions in [from, to), and
// the uplift.
func (s *Service) armResults(ctx context.Context, c Campaign, runID uuid.UUID, from, to time.Time, rr *RunResult) error {
	arms, err := marketingdb.New(s.db).ArmOutcomes(ctx, marketingdb.ArmOutcomesParams{RunID: runID, Batch: c.CouponBatch, FromAt: from, ToAt: to})
	if err != nil {
		return pg.Classify(err)
	}
	for _, a := range arms {
		ar := ArmResult{Members: a.Members, Buyers: a.Buyers, Redeemed: a.Redeemed, GMVFen: a.GmvFen}
		if a.Members > 0 {
			n := float64(a.Members)
			ar.GMVPerMemberFen = float64(a.GmvFen) / n
			if a.Members > 1 {
				ar.variance = math.Max(0, (a.GmvSq-n*ar.GMVPerMemberFen*ar.GMVPerMemberFen)/(n-1))
			}
		}
		switch a.Arm {
		case "treatment":
			rr.Treatment = ar
		case "control":
			rr.Holdout = ar
		} // refused members got nothing and count in neither arm
	}
	uplift(rr)
	return nil
}

// uplift fills the uplift, its interval and the ROI from the arms.
func uplift(r *RunResult) {
	t, c := r.Treatment, r.Holdout
	if t.Members == 0 || c.Members == 0 {
		return
	}
	r.UpliftFen = t.GMVPerMemberFen - c.GMVPerMemberFen
	se := math.Sqrt(t.variance/float64(t.Members) + c.variance/float64(c.Members))
	r.UpliftLowFen, r.UpliftHighFen = r.UpliftFen-1.96*se, r.UpliftFen+1.96*se
	r.IncrementalFen = r.UpliftFen * float64(t.Members)
	if r.CostFen > 0 {
		r.ROI = (r.IncrementalFen - float64(r.CostFen)) / float64(r.CostFen)
	}
}
