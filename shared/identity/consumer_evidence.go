package identity

import (
	"context"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity/internal/identitydb"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// publishSharedIdentifiers tells matching's identity resolution, in the transaction of a
// sign-in, about each claimed identifier that stays bound to another consumer: the two
// may be one person (merging them, with history, is matching's).
func publishSharedIdentifiers(ctx context.Context, tx pgx.Tx, q *identitydb.Queries, consumer uuid.UUID, known []identitydb.IdentityConsumerIdentity) error {
	var mine []events.ConsumerIdentifier
	for _, k := range known {
		if k.ConsumerID == consumer {
			continue
		}
		if mine == nil {
			rows, err := q.ListConsumerIdentities(ctx, consumer)
			if err != nil {
				return err
			}
			mine = identifiers(rows)
		}
		rows, err := q.ListConsumerIdentities(ctx, k.ConsumerID)
		if err != nil {
			return err
		}
		claimed := append(slices.Clone(mine), events.ConsumerIdentifier{Kind: k.Kind, AppID: k.AppID, Value: k.Value})
		if _, err := outbox.Publish(ctx, tx, events.TopicConsumerIdentifierShared, consumer.String(), events.ConsumerIdentifierShared{
			ConsumerID: consumer, Other: k.ConsumerID, Kind: k.Kind, Identifiers: claimed, OtherIdentifiers: identifiers(rows)}); err != nil {
			return err
		}
	}
	return nil
}

func identifiers(rows []identitydb.IdentityConsumerIdentity) []events.ConsumerIdentifier {
	out := make([]events.ConsumerIdentifier, len(rows))
	for i, r := range rows {
		out[i] = events.ConsumerIdentifier{Kind: r.Kind, AppID: r.AppID, Value: r.Value}
	}
	return out
}
