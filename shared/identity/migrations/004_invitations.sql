-- Invitations: a single-use link with an expiry through which a new user (a merchant's
-- owner) sets their own password, so no password passes through staff hands. Only
-- the token's SHA-256 is kept.
CREATE TABLE identity.invitations (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES identity.users (id),
    token_hash  bytea NOT NULL UNIQUE,
    created_by  uuid,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL CHECK (expires_at > created_at),
    used_at     timestamptz
);
CREATE INDEX invitations_user_idx ON identity.invitations (user_id, created_at DESC);
