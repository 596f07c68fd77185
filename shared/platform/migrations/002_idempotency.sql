-- Stored answers of requests sent with an Idempotency-Key header: the same key and body
-- get the same answer again; the same key with another body is refused.
CREATE TABLE platform.idempotency_keys (
    scope        text NOT NULL,        -- who asked and where: principal + method + route
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL,
    status       int,                  -- NULL while the first request is in flight
    headers      jsonb,
    body         bytea,
    locked_until timestamptz NOT NULL, -- an in-flight claim expires (a crashed server)
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON platform.idempotency_keys (created_at);

---- create above / drop below ----
DROP TABLE platform.idempotency_keys;
