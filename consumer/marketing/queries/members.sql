-- name: MarkEventApplied :execrows
INSERT INTO marketing.applied_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING;

-- name: EnsureMember :one
INSERT INTO marketing.members (consumer_id, joined_at) VALUES ($1, $2)
ON CONFLICT (consumer_id) DO UPDATE SET joined_at = LEAST(marketing.members.joined_at, excluded.joined_at)
RETURNING seq;

-- name: RecordChange :exec
INSERT INTO marketing.member_changes (seq) VALUES ($1);

-- name: SetProfile :exec
UPDATE marketing.members SET gender = $2, city = $3, updated_at = now() WHERE consumer_id = $1;

-- name: SetTags :exec
UPDATE marketing.members SET tags = $2, updated_at = now() WHERE consumer_id = $1;

-- name: SetTier :exec
UPDATE marketing.members SET tier = $2, updated_at = now() WHERE consumer_id = $1;

-- name: SetPoints :exec
UPDATE marketing.members SET points_balance = $2, updated_at = now() WHERE consumer_id = $1;

-- name: UpsertMerchant :exec
INSERT INTO marketing.merchants (merchant_id, category, city) VALUES ($1, $2, $3)
ON CONFLICT (merchant_id) DO UPDATE SET category = excluded.category, city = excluded.city;

-- name: UpsertMemberCategory :exec
INSERT INTO marketing.member_categories (consumer_id, seq, category, orders, last_order_at) VALUES ($1, $2, $3, 1, $4)
ON CONFLICT (consumer_id, category) DO UPDATE SET orders = marketing.member_categories.orders + 1,
  last_order_at = GREATEST(marketing.member_categories.last_order_at, excluded.last_order_at);

-- name: LockOrder :one
SELECT consumer_id, refunded_fen FROM marketing.orders WHERE order_id = $1 FOR UPDATE;

-- name: SetOrderRefunded :exec
UPDATE marketing.orders SET refunded_fen = $2 WHERE order_id = $1;

-- name: SubtractSpend :exec
UPDATE marketing.members SET spend_fen = GREATEST(spend_fen - sqlc.arg(fen)::bigint, 0), updated_at = now() WHERE consumer_id = $1;

-- name: CouponIssuedToMember :exec
INSERT INTO marketing.member_coupons (consumer_id, seq, batch_id, held, unused) VALUES ($1, $2, $3, 1, 1)
ON CONFLICT (consumer_id, batch_id) DO UPDATE SET held = marketing.member_coupons.held + 1, unused = marketing.member_coupons.unused + 1;

-- name: InsertRedemption :execrows
INSERT INTO marketing.coupon_redemptions (coupon_id, consumer_id, batch_id, order_id, redeemed_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING;

-- name: CouponRedeemedByMember :exec
UPDATE marketing.member_coupons SET unused = GREATEST(unused - 1, 0) WHERE consumer_id = $1 AND batch_id = $2;

-- name: MemberSeq :one
SELECT seq FROM marketing.members WHERE consumer_id = $1;

-- name: MembersBySeq :many
SELECT seq, consumer_id FROM marketing.members WHERE seq = ANY(sqlc.arg(seqs)::int[]) ORDER BY seq;

-- name: SetRFM :exec
UPDATE marketing.members SET rfm_r = $2, rfm_f = $3, rfm_m = $4 WHERE consumer_id = $1;
