-- Consumer merges: identity resolution's candidate pairs, decided automatically or by a
-- reviewer, and undone exactly. Nothing is deleted: a merge moves through review →
-- merged → undone, or review → rejected, and merge_moves keeps which purchases moved.
CREATE TABLE matching.merges (
    id          uuid PRIMARY KEY,
    survivor    uuid NOT NULL,
    merged      uuid NOT NULL CHECK (merged <> survivor),
    confidence  double precision NOT NULL,
    evidence    jsonb NOT NULL,
    conflicts   jsonb NOT NULL,
    automatic   boolean NOT NULL,
    state       text NOT NULL CHECK (state IN ('review', 'merged', 'rejected', 'undone')),
    created_at  timestamptz NOT NULL,
    decided_at  timestamptz,
    decided_by  text NOT NULL DEFAULT '',
    undone_at   timestamptz,
    undone_by   text NOT NULL DEFAULT ''
);
-- One open candidate per pair; a consumer is merged into at most one survivor at a time.
CREATE UNIQUE INDEX merges_open_pair ON matching.merges (survivor, merged) WHERE state IN ('review', 'merged');
CREATE UNIQUE INDEX merges_active_merged ON matching.merges (merged) WHERE state = 'merged';
CREATE INDEX merges_state_idx ON matching.merges (state, created_at DESC);

-- The purchases a merge moved (and, while it stands, those of the merged consumer that
-- arrived later): an undo moves exactly these back.
CREATE TABLE matching.merge_moves (
    merge_id uuid NOT NULL REFERENCES matching.merges (id),
    order_id uuid NOT NULL,
    PRIMARY KEY (merge_id, order_id)
);

---- create above / drop below ----
DROP TABLE matching.merge_moves;
DROP TABLE matching.merges;
