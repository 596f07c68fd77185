-- What changed in what matching serves, for the in-process caches of every process
-- (serve_cache.go): each write of recommendations (a recompute, a rebuild batch, a merge)
-- adds a row naming the consumers in the same transaction, and each process's cache
-- reads the rows after the last it saw, a few times a second, and forgets those
-- consumers. Rows older than a day are pruned by the nightly rebuild.
CREATE TABLE matching.serving_changes (
    id        bigserial PRIMARY KEY,
    consumers uuid[] NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX serving_changes_at ON matching.serving_changes (at);

---- create above / drop below ----
DROP TABLE matching.serving_changes;
