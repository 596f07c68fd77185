-- De-duplication (issue 12): the business licence number (统一社会信用代码) as a key,
-- and shops of a similar name close by, found with pg_trgm and PostGIS (both created
-- by platform migration 003 in every database).
ALTER TABLE merchant.leads ADD COLUMN licence_no text;
CREATE UNIQUE INDEX leads_licence_key ON merchant.leads (licence_no) WHERE licence_no IS NOT NULL;
CREATE INDEX leads_geo_idx ON merchant.leads USING gist ((ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography));

-- Duplicates a manager created anyway, with the reason (audited too).
CREATE TABLE merchant.duplicate_overrides (
    lead_id     uuid NOT NULL REFERENCES merchant.leads (id),
    of_lead_id  uuid NOT NULL REFERENCES merchant.leads (id),
    reason      text NOT NULL CHECK (reason <> ''),
    by_user     uuid NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (lead_id, of_lead_id)
);

---- create above / drop below ----
DROP TABLE merchant.duplicate_overrides;
DROP INDEX merchant.leads_geo_idx;
DROP INDEX merchant.leads_licence_key;
ALTER TABLE merchant.leads DROP COLUMN licence_no;
