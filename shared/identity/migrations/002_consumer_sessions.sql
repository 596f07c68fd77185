-- Consumer sessions: a mini-program user signed in with a wx.login code holds a
-- bearer token (tdc_...); only its SHA-256 is stored.
CREATE TABLE identity.consumer_sessions (
    id          uuid PRIMARY KEY,
    token_hash  bytea NOT NULL,
    consumer_id uuid NOT NULL,
    app_id      text NOT NULL,
    ip          text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    CONSTRAINT consumer_sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX consumer_sessions_consumer ON identity.consumer_sessions (consumer_id);

---- create above / drop below ----
DROP TABLE identity.consumer_sessions;
