-- name: GetReferralCode :one
SELECT * FROM marketing.referral_codes WHERE consumer_id = $1;

-- name: InsertReferralCode :execrows
INSERT INTO marketing.referral_codes (consumer_id, code, device_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING;

-- name: ReferralCodeByCode :one
SELECT * FROM marketing.referral_codes WHERE code = $1;

-- name: InsertReferral :execrows
INSERT INTO marketing.referrals (invitee_id, referrer_id, code, invitee_device, accepted_at, state)
VALUES ($1, $2, $3, $4, $5, 'pending') ON CONFLICT DO NOTHING;

-- name: MemberOrders :one
SELECT orders_count FROM marketing.members WHERE consumer_id = $1;

-- name: VoidReferralByOrder :exec
UPDATE marketing.referrals SET state = 'void', settled_at = $2 WHERE first_order_id = $1 AND state = 'pending';

-- name: DueReferrals :many
SELECT * FROM marketing.referrals WHERE state = 'pending' AND first_paid_at IS NOT NULL AND first_paid_at <= $1
ORDER BY first_paid_at LIMIT 1000;

-- name: SettleReferral :execrows
UPDATE marketing.referrals SET state = 'rewarded', settled_at = $2 WHERE invitee_id = $1 AND state = 'pending';

-- name: ListReferrals :many
SELECT * FROM marketing.referrals ORDER BY accepted_at DESC LIMIT 200;

-- name: GetReferralSettings :one
SELECT * FROM marketing.referral_settings WHERE id = 1;

-- name: SetReferralSettings :exec
INSERT INTO marketing.referral_settings (id, referrer_points, invitee_points, window_days, updated_by, updated_at)
VALUES (1, $1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET referrer_points = excluded.referrer_points, invitee_points = excluded.invitee_points,
  window_days = excluded.window_days, updated_by = excluded.updated_by, updated_at = excluded.updated_at;

-- name: ReferralStateCounts :many
SELECT state, count(*) AS n FROM marketing.referrals GROUP BY state;
