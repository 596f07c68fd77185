package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// The published way for consumer/marketing's campaigns to give many members a coupon
// or points at once (cmd/tandem adapts it to marketing's Offers port). A campaign
// batch of thousands of members is one transaction and a handful of statements, not
// one transaction per member: that is what lets a send reach tens of thousands of
// coupons a second.

// CampaignGrant is one member's share of a campaign's offer. Key is unique per
// campaign run and member: a grant is issued at most once per key, however often a
// retried or resumed send asks.
type CampaignGrant struct {
	ConsumerID uuid.UUID
	Key        string
}

// Reasons a grant is refused.
const (
	RefusedNotMember  = "not_member"
	RefusedLimit      = "member_limit"
	RefusedOutOfStock = "out_of_stock"
)

// CampaignIssue is what one call did: Issued grants got their offer now, Already
// had it from an earlier call, Refused (key → reason) got nothing.
type CampaignIssue struct {
	Issued  int
	Already int
	Refused map[string]string
}

// campaignKey is the source key a campaign grant is stored under.
func campaignKey(key string) string { return "campaign:" + key }

// CouponBatchLeft is how many coupons of a batch can still be issued (0 for an
// unknown batch): marketing refuses a campaign on an empty batch before it starts.
func (s *Service) CouponBatchLeft(ctx context.Context, batchID uuid.UUID) (int64, error) {
	b, err := consumerdb.New(s.db).GetCouponBatch(ctx, batchID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, wrap("coupon batch left", err)
	}
	return int64(b.Stock - b.Issued), nil
}

// IssueCampaignCoupons issues one coupon of the batch per grant, in one transaction:
// at most once per key, never past the batch's stock (the stock left is shared out in
// the grants' order; the rest are refused out_of_stock) nor a member's limits of the
// batch. The members' points rows are locked first, in id order, then the batch: the
// order every single issue takes, so a campaign and members claiming the same batch
// neither deadlock nor pass a limit. One consumer.coupons_issued event tells the
// whole batch. Several calls for disjoint members run side by side (a campaign sends
// batches in parallel): the batch's row is held only from the stock's UPDATE to the
// commit.
func (s *Service) IssueCampaignCoupons(ctx context.Context, batchID uuid.UUID, grants []CampaignGrant) (CampaignIssue, error) {
	res, err := s.issueCampaignCoupons(ctx, batchID, grants, false)
	if errors.Is(err, errStockMoved) {
		res, err = s.issueCampaignCoupons(ctx, batchID, grants, true)
	}
	return res, wrap("issue campaign coupons", err)
}

// errStockMoved: the batch's stock left changed under an optimistic issue.
var errStockMoved = errors.New("consumer: the batch's stock moved")

// issueCampaignCoupons is one try of IssueCampaignCoupons. Optimistically (locked
// false) the stock left is read without a lock and taken by one guarded UPDATE after
// the coupons are written, so concurrent campaign batches hold the batch's row only
// for their commit; when the guard finds less stock than was read (another issue took
// it meanwhile), it gives up with errStockMoved and the caller tries again locked:
// the batch's row is locked before the stock is shared out.
func (s *Service) issueCampaignCoupons(ctx context.Context, batchID uuid.UUID, grants []CampaignGrant, locked bool) (CampaignIssue, error) {
	var res CampaignIssue
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		res = CampaignIssue{Refused: map[string]string{}}
		q := consumerdb.New(tx)
		b, err := q.GetCouponBatch(ctx, batchID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("consumer.coupon_batch").WithField("batch_id")
		} else if err != nil {
			return err
		}
		t, err := q.GetCouponTemplate(ctx, b.TemplateID)
		if err != nil {
			return err
		}
		now := s.now()
		from, to := now, now.AddDate(0, 0, int(t.ValidDays))
		if t.ValidDays == 0 {
			from, to = *t.ValidFrom, *t.ValidTo
		}
		if e := outsideValidity(now, to, now); e != nil {
			return e
		}
		todo, err := s.campaignCandidates(ctx, tx, grants, &res)
		if err != nil {
			return err
		}
		todo, err = withinMemberLimits(ctx, tx, b, now, todo, &res)
		if err != nil {
			return err
		}
		issued := b.Issued
		if locked {
			if err := tx.QueryRow(ctx, `SELECT issued FROM consumer.coupon_batches WHERE id = $1 FOR UPDATE`, batchID).Scan(&issued); err != nil {
				return err
			}
		}
		if left := int(b.Stock - issued); len(todo) > left {
			for _, g := range todo[max(left, 0):] {
				res.Refused[g.Key] = RefusedOutOfStock
			}
			todo = todo[:max(left, 0)]
		}
		if len(todo) == 0 {
			return nil
		}
		ids, members, keys := make([]uuid.UUID, len(todo)), make([]uuid.UUID, len(todo)), make([]string, len(todo))
		coupons := make([]events.IssuedCoupon, len(todo))
		for i, g := range todo {
			ids[i], members[i], keys[i] = s.newID(), g.ConsumerID, campaignKey(g.Key)
			coupons[i] = events.IssuedCoupon{CouponID: ids[i], ConsumerID: g.ConsumerID}
		}
		// Three arrays unnested together, which sqlc cannot compile: the statement lives here.
		if _, err := tx.Exec(ctx, `INSERT INTO consumer.coupons (id, batch_id, template_id, consumer_id, source, source_key, state, valid_from, valid_to, issued_at)
SELECT u.id, $1, $2, u.consumer_id, 'campaign', u.source_key, 'available', $3, $4, $5
FROM unnest($6::uuid[], $7::uuid[], $8::text[]) AS u(id, consumer_id, source_key)`,
			batchID, t.ID, from, to, now, ids, members, keys); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE consumer.coupon_batches SET issued = issued + $2 WHERE id = $1 AND issued + $2 <= stock`, batchID, len(todo))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errStockMoved // only when not locked: a locked try took the stock it saw
		}
		res.Issued = len(todo)
		_, err = outbox.Publish(ctx, tx, events.TopicCouponsIssued, batchID.String(), events.CouponsIssued{
			BatchID: batchID.String(), IssuedAt: now, Coupons: coupons})
		return err
	})
	return res, err
}

// campaignCandidates locks the grants' members (points rows, in id order) and drops
// the grants issued before and those of non-members, counting them in res.
func (s *Service) campaignCandidates(ctx context.Context, tx pgx.Tx, grants []CampaignGrant, res *CampaignIssue) ([]CampaignGrant, error) {
	ids := make([]uuid.UUID, len(grants))
	keys := make([]string, len(grants))
	for i, g := range grants {
		ids[i], keys[i] = g.ConsumerID, campaignKey(g.Key)
	}
	members := make(map[uuid.UUID]bool, len(grants))
	rows, err := tx.Query(ctx, `SELECT consumer_id FROM consumer.points_balances WHERE consumer_id = ANY($1::uuid[]) ORDER BY consumer_id FOR UPDATE`, ids)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		members[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	done := make(map[string]bool)
	rows, err = tx.Query(ctx, `SELECT source_key FROM consumer.coupons WHERE source_key = ANY($1::text[])`, keys)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		done[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	todo := make([]CampaignGrant, 0, len(grants))
	seen := make(map[string]bool, len(grants))
	for _, g := range grants {
		switch {
		case done[campaignKey(g.Key)]:
			res.Already++
		case seen[g.Key]:
			// the same key twice in one call: once
		case !members[g.ConsumerID]:
			res.Refused[g.Key] = RefusedNotMember
		default:
			todo = append(todo, g)
		}
		seen[g.Key] = true
	}
	return todo, nil
}

// withinMemberLimits drops the grants that would pass a member's limit of the batch
// (in all, and per day when the batch has one), counting them in res. The members'
// rows are locked by the caller.
func withinMemberLimits(ctx context.Context, tx pgx.Tx, b consumerdb.ConsumerCouponBatch, now time.Time, todo []CampaignGrant, res *CampaignIssue) ([]CampaignGrant, error) {
	ids := make([]uuid.UUID, len(todo))
	for i, g := range todo {
		ids[i] = g.ConsumerID
	}
	type have struct{ total, today int64 }
	held := make(map[uuid.UUID]have)
	rows, err := tx.Query(ctx, `SELECT consumer_id, count(*), count(*) FILTER (WHERE issued_at >= $3)
FROM consumer.coupons WHERE batch_id = $1 AND consumer_id = ANY($2::uuid[]) GROUP BY consumer_id`, b.ID, ids, clock.Day(now))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id uuid.UUID
		var h have
		if err := rows.Scan(&id, &h.total, &h.today); err != nil {
			return nil, err
		}
		held[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := todo[:0]
	for _, g := range todo {
		h := held[g.ConsumerID]
		if h.total >= int64(b.PerMember) || (b.PerDay > 0 && h.today >= int64(b.PerDay)) {
			res.Refused[g.Key] = RefusedLimit
			continue
		}
		held[g.ConsumerID] = have{h.total + 1, h.today + 1}
		out = append(out, g)
	}
	return out, nil
}

// CreditCampaignPoints credits points to each grant's member at most once per key
// (one transaction per member: a points credit moves the member's lots and tiers).
func (s *Service) CreditCampaignPoints(ctx context.Context, points int64, reason string, grants []CampaignGrant) (CampaignIssue, error) {
	res := CampaignIssue{Refused: map[string]string{}}
	for _, g := range grants {
		done, err := s.CreditPoints(ctx, CreditRequest{ConsumerID: g.ConsumerID, Points: points, SourceKey: campaignKey(g.Key), Reason: reason})
		switch {
		case errs.KindOf(err) == errs.KindNotFound:
			res.Refused[g.Key] = RefusedNotMember
		case err != nil:
			return res, fmt.Errorf("consumer: campaign points for %s: %w", g.ConsumerID, err)
		case done:
			res.Issued++
		default:
			res.Already++
		}
	}
	return res, nil
}
