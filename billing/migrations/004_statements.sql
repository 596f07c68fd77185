-- Merchant settlement statements (issue 14): what a merchant is owed for a period of
-- its contract's cycle, from the ledger. An issued statement is immutable: only its
-- payout (paid once, by finance, with a reference) is recorded on it later.
CREATE TABLE billing.statements (
    id               uuid PRIMARY KEY,
    merchant_id      uuid NOT NULL,
    cycle            text NOT NULL CHECK (cycle IN ('T+1', 'T+7', 'monthly')),
    period_start     date NOT NULL,                  -- Asia/Shanghai calendar day, inclusive
    period_end       date NOT NULL,                  -- exclusive
    payable_on       date NOT NULL,
    gross_fen        bigint NOT NULL,                -- payments
    refunds_fen      bigint NOT NULL,                -- refunds
    commission_fen   bigint NOT NULL,                -- the platform's, net of commission given back
    fees_fen         bigint NOT NULL,                -- WeChat's, net of fees given back
    adjustments_fen  bigint NOT NULL,                -- + credit, − charge, as the merchant sees them
    net_fen          bigint NOT NULL,                -- payable: may be negative (no carry-forward)
    payments         integer NOT NULL,
    refunds          integer NOT NULL,
    issued_at        timestamptz NOT NULL,
    issued_by        uuid,
    paid_at          timestamptz,
    paid_by          uuid,
    payout_ref       text NOT NULL DEFAULT '',
    CONSTRAINT statements_period UNIQUE (merchant_id, cycle, period_start)
);

CREATE FUNCTION billing.statement_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.paid_at IS NOT NULL
       OR (NEW.gross_fen, NEW.refunds_fen, NEW.commission_fen, NEW.fees_fen, NEW.adjustments_fen, NEW.net_fen,
           NEW.period_start, NEW.period_end, NEW.merchant_id, NEW.cycle)
          IS DISTINCT FROM (OLD.gross_fen, OLD.refunds_fen, OLD.commission_fen, OLD.fees_fen, OLD.adjustments_fen, OLD.net_fen,
           OLD.period_start, OLD.period_end, OLD.merchant_id, OLD.cycle) THEN
        RAISE EXCEPTION 'an issued statement is immutable' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER statements_immutable BEFORE UPDATE OR DELETE ON billing.statements
    FOR EACH ROW EXECUTE FUNCTION billing.statement_immutable();

---- create above / drop below ----
DROP TABLE billing.statements;
DROP FUNCTION billing.statement_immutable();
