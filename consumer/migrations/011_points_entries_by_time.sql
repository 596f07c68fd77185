-- A member's entries are read newest first by the time they happened, then by id: the
-- ids are in the order the entries were written, which is not always their time's (the
-- demo back-dates a member's history). The index serves both the page and its cursor.
CREATE INDEX points_entries_consumer_time ON consumer.points_entries (consumer_id, created_at, id);
DROP INDEX consumer.points_entries_consumer;

---- create above / drop below ----
CREATE INDEX points_entries_consumer ON consumer.points_entries (consumer_id, id);
DROP INDEX consumer.points_entries_consumer_time;
