-- A consumer's recommendations as one row (their list, best first, as JSON) instead of a
-- row per merchant: serving a miss is one primary-key read, and a rebuild writes one row
-- and one index entry per consumer instead of twenty rows in two indexes.
CREATE TABLE matching.recommendation_lists (
    consumer_id uuid PRIMARY KEY,
    items       jsonb NOT NULL,          -- [{merchant_id, name, category, distance_m, score, reasons}], best first
    computed_at timestamptz NOT NULL
);
INSERT INTO matching.recommendation_lists (consumer_id, items, computed_at)
SELECT consumer_id,
       jsonb_agg(jsonb_build_object('merchant_id', merchant_id, 'name', name, 'category', category, 'distance_m', distance_m,
                                    'score', score, 'reasons', to_jsonb(reasons)) ORDER BY rank),
       max(computed_at)
FROM matching.recommendations GROUP BY consumer_id;
DROP TABLE matching.recommendations;

---- create above / drop below ----
CREATE TABLE matching.recommendations (
    consumer_id  uuid NOT NULL,
    merchant_id  uuid NOT NULL,
    rank         integer NOT NULL,
    category     text NOT NULL,
    name         text NOT NULL,
    distance_m   double precision NOT NULL,
    computed_at  timestamptz NOT NULL,
    score        double precision NOT NULL DEFAULT 0,
    reasons      text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (consumer_id, merchant_id)
);
CREATE INDEX recommendations_rank_idx ON matching.recommendations (consumer_id, rank);
INSERT INTO matching.recommendations (consumer_id, merchant_id, rank, category, name, distance_m, computed_at, score, reasons)
SELECT l.consumer_id, (i.item->>'merchant_id')::uuid, i.n::int, i.item->>'category', i.item->>'name', (i.item->>'distance_m')::float8,
       l.computed_at, (i.item->>'score')::float8, ARRAY(SELECT jsonb_array_elements_text(i.item->'reasons'))
FROM matching.recommendation_lists l, jsonb_array_elements(l.items) WITH ORDINALITY AS i(item, n);
DROP TABLE matching.recommendation_lists;
