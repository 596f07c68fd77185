-- The clean-up of sent events (DeleteSentOutbox) walks the primary key by age instead:
-- an event's id is a UUIDv7, whose first 48 bits are its creation time. The index on
-- sent_at cost every claim an index entry per event for a query run once an hour.
DROP INDEX platform.outbox_sent_at;

---- create above / drop below ----
CREATE INDEX outbox_sent_at ON platform.outbox (sent_at) WHERE sent_at IS NOT NULL;
