CREATE SCHEMA IF NOT EXISTS identity;

-- The org tree: root → region → city → team, kept as adjacency (parent_id) plus a
-- closure table (every ancestor/descendant pair with its distance), so "the subtree of
-- X" is one indexed lookup and moving a unit moves its whole subtree.
CREATE TABLE identity.org_units (
    id         uuid PRIMARY KEY,
    parent_id  uuid REFERENCES identity.org_units (id),
    kind       text NOT NULL CHECK (kind IN ('root', 'region', 'city', 'team')),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT org_units_root CHECK ((kind = 'root') = (parent_id IS NULL))
);
CREATE UNIQUE INDEX org_units_one_root ON identity.org_units ((true)) WHERE parent_id IS NULL;
CREATE UNIQUE INDEX org_units_sibling_name ON identity.org_units (parent_id, lower(name));

CREATE TABLE identity.org_closure (
    ancestor_id   uuid NOT NULL REFERENCES identity.org_units (id),
    descendant_id uuid NOT NULL REFERENCES identity.org_units (id),
    depth         int NOT NULL CHECK (depth >= 0),
    PRIMARY KEY (ancestor_id, descendant_id)
);
CREATE INDEX org_closure_descendant ON identity.org_closure (descendant_id);

-- Staff (bound to an org unit) and merchant-side users (bound to one merchant).
CREATE TABLE identity.users (
    id                  uuid PRIMARY KEY,
    login               text NOT NULL CHECK (login ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    display_name        text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    kind                text NOT NULL CHECK (kind IN ('staff', 'merchant')),
    org_unit_id         uuid REFERENCES identity.org_units (id),
    merchant_id         uuid,
    phone               text NOT NULL DEFAULT '',
    password_hash       text NOT NULL,
    failed_logins       int NOT NULL DEFAULT 0,
    locked_until        timestamptz,
    disabled_at         timestamptz,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    last_login_at       timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_login_key UNIQUE (login),
    CONSTRAINT users_binding CHECK (
        (kind = 'staff' AND org_unit_id IS NOT NULL AND merchant_id IS NULL) OR
        (kind = 'merchant' AND merchant_id IS NOT NULL AND org_unit_id IS NULL))
);
CREATE INDEX users_org_unit ON identity.users (org_unit_id);
CREATE INDEX users_merchant ON identity.users (merchant_id) WHERE merchant_id IS NOT NULL;

-- Roles grant permissions (keys of the catalogue in permissions.go) at one data scope.
CREATE TABLE identity.roles (
    id          uuid PRIMARY KEY,
    key         text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{1,39}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '',
    scope       text NOT NULL CHECK (scope IN ('own', 'team', 'subtree', 'all', 'merchant')),
    builtin     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT roles_key_key UNIQUE (key)
);
CREATE TABLE identity.role_permissions (
    role_id    uuid NOT NULL REFERENCES identity.roles (id) ON DELETE CASCADE,
    permission text NOT NULL,
    PRIMARY KEY (role_id, permission)
);
CREATE TABLE identity.user_roles (
    user_id    uuid NOT NULL REFERENCES identity.users (id),
    role_id    uuid NOT NULL REFERENCES identity.roles (id),
    granted_by uuid REFERENCES identity.users (id),
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role ON identity.user_roles (role_id);

-- Console sessions: the cookie holds a random secret; only its SHA-256 is stored.
CREATE TABLE identity.sessions (
    id           uuid PRIMARY KEY,
    token_hash   bytea NOT NULL,
    user_id      uuid NOT NULL REFERENCES identity.users (id),
    csrf_token   text NOT NULL,
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX sessions_user ON identity.sessions (user_id);

-- API tokens: shown once; only the SHA-256 is stored, with a short prefix to recognise it.
CREATE TABLE identity.api_tokens (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES identity.users (id),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix       text NOT NULL,
    token_hash   bytea NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    revoked_by   uuid REFERENCES identity.users (id),
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX api_tokens_user ON identity.api_tokens (user_id);

-- Consumers' identities: an openid per WeChat app, a unionid across apps, a phone.
-- Each names one consumer; the consumer's profile lives in the consumer domain.
CREATE TABLE identity.consumer_identities (
    id          uuid PRIMARY KEY,
    consumer_id uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('openid', 'unionid', 'phone')),
    app_id      text NOT NULL DEFAULT '',
    value       text NOT NULL CHECK (value <> ''),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT consumer_identities_value_key UNIQUE (kind, app_id, value),
    CONSTRAINT consumer_identities_app CHECK ((kind = 'openid') = (app_id <> ''))
);
CREATE INDEX consumer_identities_consumer ON identity.consumer_identities (consumer_id);

---- create above / drop below ----
DROP TABLE identity.consumer_identities;
DROP TABLE identity.api_tokens;
DROP TABLE identity.sessions;
DROP TABLE identity.user_roles;
DROP TABLE identity.role_permissions;
DROP TABLE identity.roles;
DROP TABLE identity.users;
DROP TABLE identity.org_closure;
DROP TABLE identity.org_units;
