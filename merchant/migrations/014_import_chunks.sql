-- Resumable imports (issue 12): an import's rows are staged, deduplicated and committed
-- first, then made leads in chunks, each chunk committed on its own (two connections at
-- once). A runner that dies part-way leaves the chunks it committed and the rows still
-- staged; the next run goes on from there instead of starting again.

-- The rows of an import still to be made leads: validated and deduplicated (the
-- refused ones are in the import's report), deleted by the transaction that makes
-- them leads, so each becomes a lead exactly once. No foreign key: the import's
-- 100,000 rows would each look up their import.
CREATE TABLE merchant.import_staged (
    import_id   uuid NOT NULL,
    row         integer NOT NULL,   -- the file's row, the header being row 1
    id          uuid NOT NULL,      -- the lead's id to be
    name        text NOT NULL,
    category    text NOT NULL,
    address     text NOT NULL,
    city        text NOT NULL,
    lat         float8 NOT NULL,
    lng         float8 NOT NULL,
    phone_raw   text NOT NULL,
    phone       text NOT NULL,
    licence_no  text,
    level       text NOT NULL,
    PRIMARY KEY (import_id, row)
);

ALTER TABLE merchant.imports
    -- 0 until the rows are staged; then the file rows of a chunk (the chunk k holds
    -- the rows 2 + k * chunk_rows up to the next chunk's first).
    ADD COLUMN chunk_rows  integer NOT NULL DEFAULT 0,
    ADD COLUMN chunks_done integer[] NOT NULL DEFAULT '{}';

---- create above / drop below ----
ALTER TABLE merchant.imports DROP COLUMN chunk_rows, DROP COLUMN chunks_done;
DROP TABLE merchant.import_staged;
