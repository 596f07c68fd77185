package matching

import (
	"context"
	"time"

	"github.com/tandemcrm/tandem/shared/domain"
)

// Name is the domain's name.
func (s *Service) Name() string { return "matching" }

// TaskRebuild is the nightly full rebuild of every consumer's recommendations.
const TaskRebuild = "matching:rebuild"

// Register declares the domain's API routes, event subscriptions, the nightly rebuild
// and its commands (commands.go).
func (s *Service) Register(r *domain.Registry) {
	r.Routes(s.mountAPI)
	r.Pages(s.pages())
	r.Subscribe(s.Subscriptions()...)
	r.Commands(s.commands()...)
	r.Schedule(domain.Task{Type: TaskRebuild, Cron: "30 3 * * *", Unique: 20 * time.Hour, Queue: "low",
		Help: "recompute co-purchase pairs and every consumer's recommendations",
		Handle: func(ctx context.Context, _ []byte) error {
			_, err := s.Rebuild(ctx)
			return err
		}})
}
