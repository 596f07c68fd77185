-- Matching (schema matching): precomputed recommendations of live merchants for a
-- consumer. Derived data: a recompute replaces a consumer's rows in one transaction.
CREATE SCHEMA IF NOT EXISTS matching;

CREATE TABLE matching.recommendations (
    consumer_id  uuid NOT NULL,
    merchant_id  uuid NOT NULL,
    rank         integer NOT NULL,
    category     text NOT NULL,
    name         text NOT NULL,
    distance_m   double precision NOT NULL,
    computed_at  timestamptz NOT NULL,
    PRIMARY KEY (consumer_id, merchant_id)
);
CREATE INDEX recommendations_rank_idx ON matching.recommendations (consumer_id, rank);

---- create above / drop below ----
DROP SCHEMA matching CASCADE;
