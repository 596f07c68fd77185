package consumer

import (
	"context"

	"github.com/google/uuid"
)

// DemoOpenID and DemoPhone name the demo member.
const (
	DemoOpenID = "o-demo-consumer-0001"
	DemoPhone  = "13800138000"
)

// Demo makes the demo consumer a member of appID, through the service (idempotent),
// and returns their id.
func Demo(ctx context.Context, s *Service, appID string) (uuid.UUID, error) {
	m, _, err := s.Join(ctx, JoinRequest{AppID: appID, OpenID: DemoOpenID, Phone: DemoPhone})
	return m.ID, err
}
