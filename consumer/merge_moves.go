package consumer

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/mergefollow"
)

// Following matching's consumer merges (shared/mergefollow): a member merged into
// another hands over their points lots (with what they still hold), their debits (so a
// later refund finds the order's lot and redemptions with one member), their coupons
// and the tags the survivor does not carry; the undo hands back exactly those, as they
// are then. What the survivor spent from a moved lot in between stays spent by the
// survivor; what either earned in between stays theirs. The balances move with the lots
// and the ledger says so: an adjustment per side, keyed by the merge.
//
// Tiers are not moved: earned_total and tier history stay with the member who earned
// them (a merge is not a purchase).

// MemberMoves is what a merge moved from one member to another.
type MemberMoves struct {
	Lots    []uuid.UUID `json:"lots"`
	Debits  []uuid.UUID `json:"debits"`
	Coupons []uuid.UUID `json:"coupons"`
	Tags    []string    `json:"tags"`
	// Points the lots held when they moved (spendable and pending).
	Points int64 `json:"points"`
}

// mergeFollower is the domain's follower of consumer merges.
func (s *Service) mergeFollower() mergefollow.Follower[MemberMoves] {
	return mergefollow.Follower[MemberMoves]{Domain: "consumer", DB: s.db,
		Move: func(ctx context.Context, tx pgx.Tx, survivor, merged, mergeID uuid.UUID) (MemberMoves, error) {
			q := consumerdb.New(tx)
			if err := q.EnsureMergeSurvivor(ctx, consumerdb.EnsureMergeSurvivorParams{Survivor: survivor, Merged: merged}); err != nil {
				return MemberMoves{}, err
			}
			if err := q.EnsureMergeSurvivorBalance(ctx, consumerdb.EnsureMergeSurvivorBalanceParams{Survivor: survivor, At: s.now()}); err != nil {
				return MemberMoves{}, err
			}
			moved, err := s.moveMember(ctx, q, merged, survivor, nil, "merge:"+mergeID.String())
			if err != nil {
				return MemberMoves{}, err
			}
			return moved, s.tellMoved(ctx, q, merged, survivor, moved)
		},
		Back: func(ctx context.Context, tx pgx.Tx, survivor, merged, mergeID uuid.UUID, moved MemberMoves) error {
			q := consumerdb.New(tx)
			back, err := s.moveMember(ctx, q, survivor, merged, &moved, "merge:"+mergeID.String()+":undo")
			if err != nil {
				return err
			}
			return s.tellMoved(ctx, q, survivor, merged, back)
		},
	}
}

// moveMember moves what only (or, when nil, everything) of from's records to to, with
// the balances and a ledger adjustment on each side keyed by key.
func (s *Service) moveMember(ctx context.Context, q *consumerdb.Queries, from, to uuid.UUID, only *MemberMoves, key string) (MemberMoves, error) {
	all, sel := only == nil, MemberMoves{}
	if only != nil {
		sel = *only
	}
	locked, err := q.LockBalances(ctx, []uuid.UUID{from, to})
	if err != nil {
		return MemberMoves{}, err
	}
	if len(locked) < 2 { // one of them is no member: nothing hangs on them here
		return MemberMoves{}, nil
	}
	lots, err := q.MoveMemberLots(ctx, consumerdb.MoveMemberLotsParams{ToConsumer: to, FromConsumer: from, AllLots: all, Ids: nonNilIDs(sel.Lots)})
	if err != nil {
		return MemberMoves{}, err
	}
	var out MemberMoves
	var d points
	for _, l := range lots {
		out.Lots = append(out.Lots, l.ID)
		if l.State == LotPending {
			d.pending += int64(l.Remaining)
		} else {
			d.balance += int64(l.Remaining)
		}
	}
	out.Points = d.balance + d.pending
	if out.Debits, err = q.MoveMemberDebits(ctx, consumerdb.MoveMemberDebitsParams{ToConsumer: to, FromConsumer: from, AllDebits: all,
		Ids: nonNilIDs(sel.Debits)}); err != nil {
		return MemberMoves{}, err
	}
	if out.Coupons, err = q.MoveMemberCoupons(ctx, consumerdb.MoveMemberCouponsParams{ToConsumer: to, FromConsumer: from, AllCoupons: all,
		Ids: nonNilIDs(sel.Coupons)}); err != nil {
		return MemberMoves{}, err
	}
	tags := sel.Tags
	if tags == nil {
		tags = []string{}
	}
	if out.Tags, err = q.MoveMemberTags(ctx, consumerdb.MoveMemberTagsParams{ToConsumer: to, FromConsumer: from, AllTags: all, Tags: tags}); err != nil {
		return MemberMoves{}, err
	}
	if out.Points == 0 {
		return out, nil
	}
	for _, side := range []struct {
		consumer uuid.UUID
		sign     int64
		key      string
	}{{from, -1, key + ":out"}, {to, 1, key + ":in"}} {
		if err := s.move(ctx, q, side.consumer, points{balance: side.sign * d.balance, pending: side.sign * d.pending}); err != nil {
			return MemberMoves{}, err
		}
		if _, err := q.InsertLedgerEntry(ctx, consumerdb.InsertLedgerEntryParams{ID: s.newID(), ConsumerID: side.consumer,
			Delta: int32(side.sign * out.Points), Kind: KindAdjust, SourceKey: side.key, CreatedAt: s.now(),
			Reason: fmt.Sprintf("consumer merge (%s)", key)}); err != nil {
			return MemberMoves{}, err
		}
	}
	return out, nil
}

func nonNilIDs(ids []uuid.UUID) []uuid.UUID {
	if ids == nil {
		return []uuid.UUID{}
	}
	return ids
}
