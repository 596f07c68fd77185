-- name: SearchMembers :many
-- Members by id, phone (prefix or suffix), or name (substring), and with a tag when one
-- is given (a tag alone: every member with it), newest first.
SELECT m.*, b.balance, b.pending, b.earned_total FROM consumer.members m
JOIN consumer.points_balances b ON b.consumer_id = m.id
WHERE ((sqlc.arg(id)::uuid = '00000000-0000-0000-0000-000000000000' AND sqlc.arg(phone)::text = '' AND sqlc.arg(name)::text = '')
   OR (sqlc.arg(id)::uuid <> '00000000-0000-0000-0000-000000000000' AND m.id = sqlc.arg(id)::uuid)
   OR (sqlc.arg(phone)::text <> '' AND (m.phone LIKE sqlc.arg(phone)::text || '%' OR m.phone LIKE '+86' || sqlc.arg(phone)::text || '%' OR m.phone LIKE '%' || sqlc.arg(phone)::text))
   OR (sqlc.arg(name)::text <> '' AND m.name ILIKE '%' || sqlc.arg(name)::text || '%'))
  AND (sqlc.arg(tag)::text = '' OR EXISTS (SELECT 1 FROM consumer.member_tags t WHERE t.consumer_id = m.id AND t.tag = sqlc.arg(tag)::text))
ORDER BY m.joined_at DESC, m.id DESC LIMIT sqlc.arg(lim);

-- name: UpdateProfile :execrows
UPDATE consumer.members SET name = $2, gender = $3, birthday = $4, city = $5 WHERE id = $1;

-- name: MemberTags :many
SELECT * FROM consumer.member_tags WHERE consumer_id = $1 ORDER BY added_at, tag;

-- name: AddTag :execrows
INSERT INTO consumer.member_tags (consumer_id, tag, source, source_ref, added_by, added_at)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (consumer_id, tag) DO NOTHING;

-- name: RemoveTag :execrows
DELETE FROM consumer.member_tags WHERE consumer_id = $1 AND tag = $2;

-- name: TagCounts :many
SELECT tag, COUNT(*)::bigint AS members FROM consumer.member_tags GROUP BY tag ORDER BY 2 DESC, 1 LIMIT 200;

-- name: MemberIDsByPhone :many
SELECT id, phone FROM consumer.members WHERE phone = ANY(sqlc.arg(phones)::text[]);

-- name: MembersExist :many
SELECT id FROM consumer.members WHERE id = ANY(sqlc.arg(ids)::uuid[]);
