-- The exceptions queue (issue 14): what finance works, from reconciliation runs and
-- from billing (payment exceptions it published). An item is keyed by what it is
-- about, not by a run, so a re-run updates it and keeps its assignee, notes and
-- resolution; an item a re-run no longer finds is cleared (resolved, by no one).
CREATE TABLE recon.queue_items (
    id              uuid PRIMARY KEY,                -- UUIDv7
    source          text NOT NULL CHECK (source IN ('reconciliation', 'billing')),
    item_key        text NOT NULL,                   -- reconciliation: mchid|date|P<txn> or R<refund>; billing: its exception id
    mchid           text NOT NULL,
    bill_date       date,                            -- reconciliation items
    kind            text NOT NULL,                   -- the class, or billing's exception kind
    out_trade_no    text NOT NULL DEFAULT '',
    out_refund_no   text NOT NULL DEFAULT '',
    transaction_id  text NOT NULL DEFAULT '',
    amount_fen      bigint,
    detail          text NOT NULL DEFAULT '',
    run_id          uuid,                            -- the latest run that reported it (runs are replaced; no FK)
    state           text NOT NULL CHECK (state IN ('open', 'resolved')),
    assignee        uuid,
    resolution      text NOT NULL DEFAULT '',
    resolved_by     uuid,                            -- NULL with a resolution: cleared by a re-run
    resolved_at     timestamptz,
    first_seen      timestamptz NOT NULL,
    last_seen       timestamptz NOT NULL,
    CONSTRAINT queue_items_key UNIQUE (source, item_key)
);
CREATE INDEX queue_items_open ON recon.queue_items (state, first_seen);
CREATE INDEX queue_items_date ON recon.queue_items (mchid, bill_date) WHERE source = 'reconciliation';

CREATE TABLE recon.queue_notes (
    id          uuid PRIMARY KEY,
    item_id     uuid NOT NULL REFERENCES recon.queue_items (id),
    author      uuid NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX queue_notes_item ON recon.queue_notes (item_id, id);

---- create above / drop below ----
DROP TABLE recon.queue_notes;
DROP TABLE recon.queue_items;
