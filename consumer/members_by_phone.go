package consumer

import (
	"context"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
)

// MembersByPhone is the members whose phone is phone (E.164), for matching to link a
// shop's owner to their consumer identity.
func (s *Service) MembersByPhone(ctx context.Context, phone string) ([]uuid.UUID, error) {
	rows, err := consumerdb.New(s.db).MemberIDsByPhone(ctx, []string{phone})
	if err != nil {
		return nil, wrap("members by phone", err)
	}
	out := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out, nil
}
