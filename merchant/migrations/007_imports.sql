-- Lead imports (issue 12): one row per uploaded file and target pool; the same file into
-- the same pool is one import (a re-upload answers the first one's report).
CREATE TABLE merchant.imports (
    id          uuid PRIMARY KEY,
    pool_id     uuid NOT NULL REFERENCES merchant.pools (id),
    sha256      text NOT NULL,
    file_name   text NOT NULL,
    state       text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    total_rows  integer NOT NULL DEFAULT 0,
    done_rows   integer NOT NULL DEFAULT 0,
    imported    integer NOT NULL DEFAULT 0,
    problems    jsonb NOT NULL DEFAULT '[]',       -- [{row, column, reason}], the validation report
    by_user     uuid NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT imports_file_key UNIQUE (pool_id, sha256)
);

---- create above / drop below ----
DROP TABLE merchant.imports;
