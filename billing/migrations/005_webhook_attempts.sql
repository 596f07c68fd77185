-- Every merchant webhook call is on record before it is made: the row is written (no
-- status yet) and committed, then the call goes out, then the row gets its outcome. A
-- call cut off by a crash stays on record as unfinished. webhook_id is the Standard
-- Webhooks message id (the webhook-id header): one per order's payment, the same on
-- every attempt, retry, re-drive and repair, so a merchant can drop repeats by it.
ALTER TABLE billing.webhook_deliveries
    ALTER COLUMN status_code DROP NOT NULL,  -- NULL until the call ends (0: no answer)
    ALTER COLUMN duration_ms DROP NOT NULL,
    ADD COLUMN webhook_id  text,             -- NULL on rows from before this migration
    ADD COLUMN finished_at timestamptz;
-- Attempts are numbered per order under the order's row lock: one number each.
CREATE UNIQUE INDEX webhook_deliveries_order_attempt ON billing.webhook_deliveries (order_id, attempt) WHERE webhook_id IS NOT NULL;

---- create above / drop below ----
DROP INDEX billing.webhook_deliveries_order_attempt;
DELETE FROM billing.webhook_deliveries WHERE status_code IS NULL;
ALTER TABLE billing.webhook_deliveries
    DROP COLUMN finished_at,
    DROP COLUMN webhook_id,
    ALTER COLUMN duration_ms SET NOT NULL,
    ALTER COLUMN status_code SET NOT NULL;
