package marketing

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/pg"
)

// DayResult is a run's results from its start to the end of one day (Asia/Shanghai):
// reach and cost are the treatment's sends by then, redemption and GMV count the
// attribution window up to that day, uplift is treatment's minus control's GMV per
// member with its 95% interval, as for the whole run.
type DayResult struct {
	Day            string  `json:"day"` // yyyy-MM-dd
	Reach          int64   `json:"reach"`
	Redeemed       int64   `json:"redeemed"`
	TreatmentGMV   float64 `json:"treatment_gmv_per_member_fen"`
	ControlGMV     float64 `json:"control_gmv_per_member_fen"`
	UpliftFen      float64 `json:"uplift_per_member_fen"`
	UpliftLowFen   float64 `json:"uplift_ci95_low_fen"`
	UpliftHighFen  float64 `json:"uplift_ci95_high_fen"`
	CostFen        int64   `json:"cost_fen"`
	IncrementalFen float64 `json:"incremental_gmv_fen"`
	ROI            float64 `json:"roi"`
}

// runDays is a run's results day by day, from its start to the end of its
// attribution window or today, whichever is first: one arms query per day (at most
// the window's 90 days).
func (s *Service) runDays(ctx context.Context, c Campaign, runID uuid.UUID, from, windowEnd time.Time) ([]DayResult, error) {
	last := windowEnd
	if now := s.now(); now.Before(last) {
		last = now
	}
	var out []DayResult
	for day := from.In(shanghai); ; day = day.AddDate(0, 0, 1) {
		y, m, d := day.Date()
		start := time.Date(y, m, d, 0, 0, 0, 0, shanghai)
		if start.After(last) {
			return out, nil
		}
		end := start.AddDate(0, 0, 1)
		if end.After(windowEnd) {
			end = windowEnd
		}
		var rr RunResult
		if err := s.armResults(ctx, c, runID, from, end, &rr); err != nil {
			return nil, err
		}
		var reach int64
		if err := s.db.QueryRow(ctx, `SELECT count(*) FROM marketing.sends WHERE run_id = $1 AND arm = 'treatment' AND sent_at < $2`,
			runID, end).Scan(&reach); err != nil {
			return nil, pg.Classify(err)
		}
		rr.CostFen = reach * c.UnitCostFen
		uplift(&rr)
		out = append(out, DayResult{Day: start.Format(time.DateOnly), Reach: reach, Redeemed: rr.Treatment.Redeemed,
			TreatmentGMV: rr.Treatment.GMVPerMemberFen, ControlGMV: rr.Holdout.GMVPerMemberFen, UpliftFen: rr.UpliftFen,
			UpliftLowFen: rr.UpliftLowFen, UpliftHighFen: rr.UpliftHighFen, CostFen: rr.CostFen, IncrementalFen: rr.IncrementalFen, ROI: rr.ROI})
	}
}
