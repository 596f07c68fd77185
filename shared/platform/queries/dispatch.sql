-- name: DueSubscribers :many
-- Which of the dispatcher's subscribers have a delivery due (not done, not put off):
-- one look per relay round for all of them, so that only those claim a batch, instead
-- of every subscriber beginning a transaction to claim nothing. A delivery claimed by
-- a batch in flight still counts; its subscriber then claims once more. Each looks
-- from its newest delivery back: the undone index keeps an entry per closed delivery
-- until a vacuum, or while any snapshot (in any database of the server) is older than
-- the close, and those are the older ones, so a subscriber with new work is found at
-- its first live entry. The subscriber is bounded by a range rather than an equality so
-- that only outbox_deliveries_undone_by_subscriber gives the order (with an equality the
-- planner may walk outbox_deliveries_undone backward through every subscriber's entries).
SELECT s.subscriber::text AS subscriber
FROM unnest(sqlc.arg(subscribers)::text[]) AS s(subscriber),
LATERAL (SELECT 1 FROM platform.outbox_deliveries d
         WHERE d.subscriber >= s.subscriber AND d.subscriber <= s.subscriber AND d.done_at IS NULL
           AND (d.retry_at IS NULL OR d.retry_at <= now())
         ORDER BY d.subscriber DESC, d.enqueued_at DESC LIMIT 1) AS due;
