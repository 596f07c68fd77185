-- Finance console (issue 14): refunds over a configured amount wait for an approval,
-- statements carry adjustments, and statements are read by when each entry happened.

-- pending_approval: a refund over Config.RefundApprovalOver, recorded and reserving its
-- amount while an approver decides (shared/approval); approved it becomes requested
-- and goes to WeChat, rejected it is rejected (reserving nothing).
ALTER TABLE billing.refunds DROP CONSTRAINT refunds_state_check;
ALTER TABLE billing.refunds ADD CONSTRAINT refunds_state_check
    CHECK (state IN ('pending_approval', 'requested', 'processing', 'succeeded', 'closed', 'abnormal', 'rejected'));
ALTER TABLE billing.refunds ADD COLUMN approval_id uuid;

-- Statements and the settlement run read entries by when they happened.
CREATE INDEX payments_success_time ON billing.payments (success_time);
CREATE INDEX refunds_succeeded_at ON billing.refunds (succeeded_at) WHERE succeeded_at IS NOT NULL;

-- statement_entries dates every ledger entry by what it books: a payment and its fee by
-- WeChat's success time, a refund and the fee it gives back by the refund's success.
-- Statements come from these recorded times, so any past period comes out the same again;
-- booked_at (when the entry was written) lets an issued statement be traced to exactly the
-- entries it summed (those booked before it was issued).
CREATE VIEW billing.statement_entries AS
    SELECT e.id, e.merchant_id, e.order_id, e.kind, e.source_key, p.success_time AS at, e.created_at AS booked_at
    FROM billing.payments p
    JOIN billing.journal_entries e ON e.order_id = p.order_id
        AND (e.source_key = 'payment:' || p.order_id::text OR e.source_key = 'fee:' || p.order_id::text)
    UNION ALL
    SELECT e.id, e.merchant_id, e.order_id, e.kind, e.source_key, r.succeeded_at AS at, e.created_at AS booked_at
    FROM billing.refunds r
    JOIN billing.journal_entries e ON e.order_id = r.order_id
        AND (e.source_key = 'refund:' || r.id::text OR e.source_key = 'fee:' || r.id::text)
    WHERE r.succeeded_at IS NOT NULL;

-- Adjustments, signed as the merchant sees them (+ credit, − charge). One belongs to the
-- period of the day it was made: a correction of an issued statement (corrects) is made
-- after that statement's period ended, so it lands in a later statement.
CREATE TABLE billing.adjustments (
    id           uuid PRIMARY KEY,
    merchant_id  uuid NOT NULL,
    amount_fen   bigint NOT NULL CHECK (amount_fen <> 0),
    reason       text NOT NULL,
    corrects     uuid REFERENCES billing.statements (id),
    at           timestamptz NOT NULL,
    created_by   uuid
);
CREATE INDEX adjustments_merchant_at ON billing.adjustments (merchant_id, at);
CREATE TRIGGER adjustments_append_only BEFORE UPDATE OR DELETE ON billing.adjustments
    FOR EACH ROW EXECUTE FUNCTION billing.refuse_change();

---- create above / drop below ----
DROP TABLE billing.adjustments;
DROP VIEW billing.statement_entries;
DROP INDEX billing.refunds_succeeded_at;
DROP INDEX billing.payments_success_time;
ALTER TABLE billing.refunds DROP COLUMN approval_id;
ALTER TABLE billing.refunds DROP CONSTRAINT refunds_state_check;
ALTER TABLE billing.refunds ADD CONSTRAINT refunds_state_check
    CHECK (state IN ('requested', 'processing', 'succeeded', 'closed', 'abnormal', 'rejected'));
