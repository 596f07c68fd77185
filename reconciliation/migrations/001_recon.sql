-- Reconciliation (schema recon): the results of matching WeChat Pay's trade bills
-- against our ledger. Only the run summary and the exceptions are stored (matched
-- lines are counted, not kept). These are derived results: a re-run of a date
-- replaces its run, exceptions and class figures in one transaction.
CREATE SCHEMA IF NOT EXISTS recon;

CREATE TABLE recon.runs (
    id              uuid PRIMARY KEY,                -- UUIDv7, new for every attempt
    mchid           text NOT NULL,
    bill_date       date NOT NULL,                   -- business day, Asia/Shanghai
    attempt         integer NOT NULL,                -- 1 for the first run of the date, +1 per re-run
    source          text NOT NULL CHECK (source IN ('downloaded', 'file')),
    state           text NOT NULL CHECK (state IN ('balanced', 'unbalanced', 'incomplete')),
    bill_type       text NOT NULL,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz NOT NULL,
    -- figures of this bill's well-formed detail lines, as the parser summed them
    bill_lines            bigint NOT NULL,
    order_fen             bigint NOT NULL,           -- 订单金额
    settlement_fen        bigint NOT NULL,           -- 应结订单金额
    refund_fen            bigint NOT NULL,           -- 退款金额
    requested_refund_fen  bigint NOT NULL,           -- 申请退款金额
    fee_milli_fen         bigint NOT NULL,           -- 手续费, net of returned fees (bills print 5 decimals)
    net_milli_fen         bigint NOT NULL,           -- settlement - refund - fee
    ledger_records  bigint NOT NULL,                 -- our records streamed for the window
    carried_in      bigint NOT NULL,                 -- outside_window items taken over from the previous date
    repaired        bigint NOT NULL,
    problem_count   bigint NOT NULL,
    problems        jsonb NOT NULL,                  -- [{"line":N,"reason":"..."}], the first 1000
    UNIQUE (mchid, bill_date)
);

-- Per class: how many items, the bill's side (this bill's lines only, so the sums
-- over all classes equal the bill's totals) and our side.
CREATE TABLE recon.run_classes (
    run_id               uuid NOT NULL REFERENCES recon.runs (id) ON DELETE CASCADE,
    class                text NOT NULL,
    items                bigint NOT NULL,
    bill_lines           bigint NOT NULL,
    order_fen            bigint NOT NULL,
    settlement_fen       bigint NOT NULL,
    refund_fen           bigint NOT NULL,
    requested_refund_fen bigint NOT NULL,
    fee_milli_fen        bigint NOT NULL,
    our_records          bigint NOT NULL,
    our_amount_fen       bigint NOT NULL,
    PRIMARY KEY (run_id, class)
);

CREATE TABLE recon.exceptions (
    id                  uuid PRIMARY KEY,            -- UUIDv7
    run_id              uuid NOT NULL REFERENCES recon.runs (id) ON DELETE CASCADE,
    seq                 integer NOT NULL,            -- order found in the run
    class               text NOT NULL CHECK (class IN ('missing_ours', 'missing_wechat', 'amount_mismatch',
                                                       'status_mismatch', 'duplicate', 'outside_window')),
    kind                text NOT NULL CHECK (kind IN ('PAY', 'REFUND')),
    out_trade_no        text NOT NULL,
    transaction_id      text NOT NULL,
    out_refund_no       text NOT NULL,
    refund_id           text NOT NULL,
    -- the bill's line (line_no 0: none)
    line_no             integer NOT NULL,
    bill_state          text NOT NULL,
    bill_time           timestamptz,
    bill_amount_fen     bigint,                      -- 订单金额 of a payment, 申请退款金额 of a refund
    bill_fee_milli_fen  bigint,
    -- our record (our_time NULL: none)
    our_status          text NOT NULL,
    our_time            timestamptz,
    our_amount_fen      bigint,
    our_fee_fen         bigint,
    carried_from        date,                        -- taken over from that date's run
    repaired_at         timestamptz,
    note                text NOT NULL
);
CREATE INDEX exceptions_run_class ON recon.exceptions (run_id, class, seq);

---- create above / drop below ----
DROP SCHEMA IF EXISTS recon CASCADE;
