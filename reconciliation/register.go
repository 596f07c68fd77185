package reconciliation

import "github.com/tandemcrm/tandem/shared/domain"

// Name is the domain's name.
func (s *Service) Name() string { return "reconciliation" }

// Register declares the domain's API routes and console pages (shared/domain).
func (s *Service) Register(r *domain.Registry) {
	r.Routes(s.mountAPI)
	r.Pages(s.pages())
	r.Schedule(s.dailyTask())
	r.Subscribe(s.Subscriptions()...)
}
