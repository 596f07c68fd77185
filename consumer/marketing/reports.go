package marketing

import (
	"context"
	"strconv"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/tandemcrm/tandem/shared/identity"
)

// GrowthReport is the growth team's overview, computed on the segment index (so it
// is as current as the counts, and costs bitmap operations, not table scans).
type GrowthReport struct {
	Members uint64 `json:"members"`
	// Funnel (AARRR as marketing sees it): members (acquisition), ordered once
	// (activation), ordered twice or more (retention), ordered in the last 30 days
	// (active revenue), members with spend ≥ 500 yuan.
	Funnel []FunnelStep `json:"funnel"`
	// RFM[r-1][f-1] is the number of members scored recency r and frequency f.
	RFM [5][5]uint64 `json:"rfm"`
	// Cohorts are the members who joined in each of the last 12 months and the share
	// of them who ordered in the last 30 days.
	Cohorts []Cohort `json:"cohorts"`
	// ChurnRisk: members who ordered often (F ≥ 3) but not lately (R ≤ 2): the
	// win-back audience.
	ChurnRisk uint64 `json:"churn_risk"`
}

// FunnelStep is one step of the funnel.
type FunnelStep struct {
	Step    string `json:"step"`
	Members uint64 `json:"members"`
}

// Cohort is one month of joiners.
type Cohort struct {
	Month  string `json:"month"` // yyyy-MM
	Joined uint64 `json:"joined"`
	Active uint64 `json:"active_30d"`
}

// WinBackRule is the rule of the win-back template: frequent members gone quiet.
func WinBackRule() Rule {
	return Rule{And: []Rule{
		{Field: "rfm_f", Op: "gte", Value: 3},
		{Field: "rfm_r", Op: "lte", Value: 2},
	}}
}

// Growth computes the growth report.
func (s *Service) Growth(ctx context.Context, p *identity.Principal) (GrowthReport, error) {
	if err := p.RequireAll(identity.PermMemberRead, objMember); err != nil {
		return GrowthReport{}, err
	}
	x, err := s.index(ctx)
	if err != nil {
		return GrowthReport{}, err
	}
	now := s.now()
	x.mu.RLock()
	defer x.mu.RUnlock()
	e := evaluator{x: x, today: dayOf(now), tiers: s.cfg.Tiers, noCache: true}
	count := func(r Rule) uint64 {
		res, err := e.eval(&r, "rule")
		if err != nil {
			return 0
		}
		return res.b.GetCardinality()
	}
	rep := GrowthReport{Members: x.all.GetCardinality()}
	rep.Funnel = []FunnelStep{
		{"members", rep.Members},
		{"ordered", count(Rule{Field: "orders_count", Op: "gte", Value: 1})},
		{"repeat", count(Rule{Field: "orders_count", Op: "gte", Value: 2})},
		{"active_30d", count(Rule{Field: "ordered_within_days", Value: 30})},
		{"spend_500", count(Rule{Field: "spend_yuan", Op: "gte", Value: 500})},
	}
	for r := 1; r <= 5; r++ {
		rb := x.eq[keyRFMR+strconv.Itoa(r)]
		for f := 1; f <= 5; f++ {
			if fb := x.eq[keyRFMF+strconv.Itoa(f)]; rb != nil && fb != nil {
				rep.RFM[r-1][f-1] = rb.AndCardinality(fb)
			}
		}
	}
	rep.ChurnRisk = count(WinBackRule())
	active := roaring.New()
	if res, err := e.eval(&Rule{Field: "ordered_within_days", Value: 30}, "rule"); err == nil {
		active = res.b
	}
	joined := x.num[numJoinedDay]
	y, m, _ := now.In(shanghai).Date()
	for i := 11; i >= 0; i-- {
		from := time.Date(y, m-time.Month(i), 1, 0, 0, 0, 0, shanghai)
		to := from.AddDate(0, 1, -1)
		c := Cohort{Month: from.Format("2006-01")}
		if joined != nil {
			in := joined.atLeast(dayOf(from))
			in.AndNot(joined.atLeast(dayOf(to) + 1))
			c.Joined = in.GetCardinality()
			c.Active = in.AndCardinality(active)
		}
		rep.Cohorts = append(rep.Cohorts, c)
	}
	return rep, nil
}
