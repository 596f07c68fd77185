package billing

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/mergefollow"
)

// Following matching's consumer merges (shared/mergefollow): the merged consumer's
// orders become the survivor's (their list, their refunds); the undo hands back exactly
// those. Orders placed in between stay with whoever placed them. Payments, refunds and
// the ledger are facts about the order and do not name the consumer, so only the
// order's consumer changes.

// OrderMoves is what a merge moved: the orders.
type OrderMoves struct {
	Orders []uuid.UUID `json:"orders"`
}

func (s *Service) mergeFollower() mergefollow.Follower[OrderMoves] {
	move := func(ctx context.Context, tx pgx.Tx, from, to uuid.UUID, only []uuid.UUID) (OrderMoves, error) {
		if only == nil {
			only = []uuid.UUID{}
		}
		ids, err := billingdb.New(tx).MoveConsumerOrders(ctx, billingdb.MoveConsumerOrdersParams{FromConsumer: from, ToConsumer: to,
			AllOrders: len(only) == 0, Ids: only})
		return OrderMoves{Orders: ids}, err
	}
	return mergefollow.Follower[OrderMoves]{Domain: "billing", DB: s.db,
		Move: func(ctx context.Context, tx pgx.Tx, survivor, merged, _ uuid.UUID) (OrderMoves, error) {
			return move(ctx, tx, merged, survivor, nil)
		},
		Back: func(ctx context.Context, tx pgx.Tx, survivor, merged, _ uuid.UUID, moved OrderMoves) error {
			if len(moved.Orders) == 0 {
				return nil
			}
			_, err := move(ctx, tx, survivor, merged, moved.Orders)
			return err
		},
	}
}
