package matching

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/events"
)

// ResolveShared weighs two consumers that a sign-in showed sharing an identifier
// (identity's events.TopicConsumerIdentifierShared) and proposes their merge: automatic
// when the evidence is strong and nothing conflicts, else to the review queue. A pair
// already open is not proposed twice, so redelivery is harmless.
func (s *Service) ResolveShared(ctx context.Context, e events.ConsumerIdentifierShared) (merged, queued int, err error) {
	cands := Resolve([]ConsumerRecord{recordOf(e.ConsumerID, e.Identifiers), recordOf(e.Other, e.OtherIdentifiers)})
	return s.Propose(ctx, cands)
}

func recordOf(id uuid.UUID, ids []events.ConsumerIdentifier) ConsumerRecord {
	r := ConsumerRecord{ConsumerID: id}
	for _, x := range ids {
		switch x.Kind {
		case EvidenceOpenID:
			r.OpenIDs = append(r.OpenIDs, AppOpenID{AppID: x.AppID, OpenID: x.Value})
		case EvidenceUnionID:
			r.UnionID = x.Value
		case EvidencePhone:
			r.Phones = append(r.Phones, Phone{Number: x.Value, Verified: x.Verified})
		}
	}
	return r
}

func (s *Service) handleIdentifierShared(ctx context.Context, e events.Envelope) error {
	var p events.ConsumerIdentifierShared
	if err := e.Decode(&p); err != nil {
		return fmt.Errorf("matching: decode %s: %w", e.Topic, err)
	}
	_, _, err := s.ResolveShared(ctx, p)
	return err
}
