-- Fund-flow exceptions in the exceptions queue (issue 14): a reconciliation item says
-- which run of record found it, the day's trade bill (ALL) or its fund-flow bill
-- (FUNDFLOW). Each run clears only its own bill's items that it no longer finds.
ALTER TABLE recon.queue_items ADD COLUMN bill_type text NOT NULL DEFAULT ''
    CHECK (bill_type IN ('', 'ALL', 'FUNDFLOW'));         -- '' for billing's items
UPDATE recon.queue_items SET bill_type = 'ALL' WHERE source = 'reconciliation';

---- create above / drop below ----
DELETE FROM recon.queue_notes WHERE item_id IN (SELECT id FROM recon.queue_items WHERE bill_type = 'FUNDFLOW');
DELETE FROM recon.queue_items WHERE bill_type = 'FUNDFLOW';
ALTER TABLE recon.queue_items DROP COLUMN bill_type;
