-- Settlement at scale (issue 14): every journal entry carries what a statement needs of
-- it, so a statement is one range aggregate over the entries (10,000 merchants and
-- 10,000,000 orders a month in seconds) instead of a join of the views' payments and
-- refunds with every posting.
--
-- at: the entry's business time, what dates it in a statement: a payment and its fee
-- by WeChat's success time, a refund and the fee it gives back by the refund's success.
-- clearing_fen, payable_fen, commission_fen: the sums of the entry's postings on each
-- account, written with them in the posting transaction and checked against them at
-- commit (postings_balanced), so every figure still comes from the postings.
ALTER TABLE billing.journal_entries
    ADD COLUMN at             timestamptz,
    ADD COLUMN clearing_fen   bigint NOT NULL DEFAULT 0,
    ADD COLUMN payable_fen    bigint NOT NULL DEFAULT 0,
    ADD COLUMN commission_fen bigint NOT NULL DEFAULT 0;

-- Entries booked before this migration get theirs from where the view found them.
ALTER TABLE billing.journal_entries DISABLE TRIGGER journal_entries_append_only;
UPDATE billing.journal_entries e SET at = t.at
FROM billing.statement_entries t WHERE t.id = e.id;
UPDATE billing.journal_entries e SET at = e.created_at WHERE e.at IS NULL; -- a refund's fee before the refund succeeded
UPDATE billing.journal_entries e SET
    clearing_fen   = s.clearing_fen,
    payable_fen    = s.payable_fen,
    commission_fen = s.commission_fen
FROM (SELECT entry_id,
        COALESCE(SUM(amount_fen) FILTER (WHERE account = 'wxpay_clearing'), 0) AS clearing_fen,
        COALESCE(SUM(amount_fen) FILTER (WHERE account = 'merchant_payable'), 0) AS payable_fen,
        COALESCE(SUM(amount_fen) FILTER (WHERE account = 'platform_commission'), 0) AS commission_fen
      FROM billing.postings GROUP BY entry_id) s
WHERE s.entry_id = e.id;
ALTER TABLE billing.journal_entries ENABLE TRIGGER journal_entries_append_only;
ALTER TABLE billing.journal_entries ALTER COLUMN at SET NOT NULL;

-- A merchant's statement: its entries of a period. Every merchant's (tandem settle):
-- the period's block range; entries are written in about their business time's order,
-- so a BRIN index finds a month among years for almost nothing on each insert.
CREATE INDEX journal_entries_merchant_at ON billing.journal_entries (merchant_id, at);
CREATE INDEX journal_entries_at ON billing.journal_entries USING brin (at);

CREATE OR REPLACE VIEW billing.statement_entries AS
    SELECT e.id, e.merchant_id, e.order_id, e.kind, e.source_key, e.at, e.created_at AS booked_at
    FROM billing.journal_entries e;

-- An entry balances, and its recorded figures are its postings' sums.
CREATE OR REPLACE FUNCTION billing.check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
    n     bigint;
    c     bigint;
    p     bigint;
    k     bigint;
    e     billing.journal_entries;
BEGIN
    SELECT COALESCE(SUM(amount_fen), 0), COUNT(*),
           COALESCE(SUM(amount_fen) FILTER (WHERE account = 'wxpay_clearing'), 0),
           COALESCE(SUM(amount_fen) FILTER (WHERE account = 'merchant_payable'), 0),
           COALESCE(SUM(amount_fen) FILTER (WHERE account = 'platform_commission'), 0)
    INTO total, n, c, p, k FROM billing.postings WHERE entry_id = NEW.entry_id;
    IF total <> 0 OR n < 2 THEN
        RAISE EXCEPTION 'journal entry % does not balance: % postings summing to %', NEW.entry_id, n, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'postings_balanced';
    END IF;
    SELECT * INTO e FROM billing.journal_entries WHERE id = NEW.entry_id;
    IF (e.clearing_fen, e.payable_fen, e.commission_fen) IS DISTINCT FROM (c, p, k) THEN
        RAISE EXCEPTION 'journal entry % records (%, %, %), its postings sum to (%, %, %)', NEW.entry_id,
            e.clearing_fen, e.payable_fen, e.commission_fen, c, p, k
            USING ERRCODE = 'check_violation', CONSTRAINT = 'postings_balanced';
    END IF;
    RETURN NULL;
END $$;

---- create above / drop below ----
CREATE OR REPLACE FUNCTION billing.check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
    n     bigint;
BEGIN
    SELECT COALESCE(SUM(amount_fen), 0), COUNT(*) INTO total, n FROM billing.postings WHERE entry_id = NEW.entry_id;
    IF total <> 0 OR n < 2 THEN
        RAISE EXCEPTION 'journal entry % does not balance: % postings summing to %', NEW.entry_id, n, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'postings_balanced';
    END IF;
    RETURN NULL;
END $$;
DROP VIEW billing.statement_entries;
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
DROP INDEX billing.journal_entries_at;
DROP INDEX billing.journal_entries_merchant_at;
ALTER TABLE billing.journal_entries DROP COLUMN commission_fen, DROP COLUMN payable_fen, DROP COLUMN clearing_fen, DROP COLUMN at;
