-- The expiry job, redemptions and refunds change only a lot's counts (remaining,
-- spent, reversed, expired). With no index on them, nor in an index's predicate,
-- PostgreSQL updates a lot in place (a HOT update) instead of adding an entry to every
-- index: the expiry job over a million lots is bound by that.
DROP INDEX consumer.points_lots_due;
DROP INDEX consumer.points_lots_draw;
CREATE INDEX points_lots_draw ON consumer.points_lots (consumer_id, expires_at, id);
ALTER TABLE consumer.points_lots SET (fillfactor = 70);

---- create above / drop below ----
ALTER TABLE consumer.points_lots RESET (fillfactor);
DROP INDEX consumer.points_lots_draw;
CREATE INDEX points_lots_draw ON consumer.points_lots (consumer_id, expires_at, id) WHERE remaining > 0;
CREATE INDEX points_lots_due ON consumer.points_lots (expires_at) WHERE remaining > 0;
