package identity

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/audit"
)

// ListAudit lists audit entries whose actor is in the principal's scope of
// PermAuditRead, newest first.
func (s *Service) ListAudit(ctx context.Context, p *Principal, f audit.Filter) ([]audit.Entry, uuid.UUID, error) {
	sc, err := p.Require(PermAuditRead)
	if err != nil {
		return nil, uuid.Nil, err
	}
	return s.log.List(ctx, sc, f)
}

// ExportAudit calls fn for every entry the filter matches (PermAuditExport, scoped
// like PermAuditRead's), a page at a time.
func (s *Service) ExportAudit(ctx context.Context, p *Principal, f audit.Filter, fn func(audit.Entry) error) error {
	sc, err := p.Require(PermAuditExport)
	if err != nil {
		return err
	}
	return s.log.Each(ctx, sc, f, fn)
}

// SignInsByDay counts sign-ins per day over the last days, for the people in the
// principal's scope of PermDashboardView: the dashboard's chart.
func (s *Service) SignInsByDay(ctx context.Context, p *Principal, days int) ([]audit.DayCount, error) {
	sc, err := p.Require(PermDashboardView)
	if err != nil {
		return nil, err
	}
	shanghai := time.FixedZone("CST", 8*3600)
	today := s.now().In(shanghai)
	start := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, shanghai).AddDate(0, 0, -(days - 1))
	counts, err := s.log.CountByDay(ctx, sc, "auth.login", start)
	if err != nil {
		return nil, err
	}
	byDay := map[string]int64{}
	for _, c := range counts {
		byDay[c.Day] = c.Count
	}
	out := make([]audit.DayCount, days)
	for i := range out {
		d := start.AddDate(0, 0, i).Format(time.DateOnly)
		out[i] = audit.DayCount{Day: d, Count: byDay[d]}
	}
	return out, nil
}
