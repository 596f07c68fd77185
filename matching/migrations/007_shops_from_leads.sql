-- Shops from leads and imports too (merchant.lead_created, …_edited, …_archived and
-- merchant.leads_imported), not only live merchants. A shop is known by its lead: a
-- merchant is a lead gone live and keeps its lead id, so one record follows a shop from
-- the rep's first entry (or an import) to trading. Shop matches pair lead ids from now on.
ALTER TABLE matching.shops DROP CONSTRAINT shops_pkey;
ALTER TABLE matching.shops ALTER COLUMN merchant_id DROP NOT NULL;
ALTER TABLE matching.shops ADD PRIMARY KEY (lead_id);
ALTER TABLE matching.shops ADD CONSTRAINT shops_merchant_key UNIQUE (merchant_id);
ALTER TABLE matching.shops
    ADD COLUMN origin    text NOT NULL DEFAULT 'merchant' CHECK (origin IN ('lead', 'import', 'merchant')),
    ADD COLUMN import_id uuid,
    ADD COLUMN category  text NOT NULL DEFAULT '',
    ADD COLUMN city      text NOT NULL DEFAULT '',
    ADD COLUMN archived  boolean NOT NULL DEFAULT false;

UPDATE matching.shop_matches m SET a = least(sa.lead_id, sb.lead_id), b = greatest(sa.lead_id, sb.lead_id)
FROM matching.shops sa, matching.shops sb WHERE sa.merchant_id = m.a AND sb.merchant_id = m.b;
CREATE INDEX shop_matches_b_idx ON matching.shop_matches (b);

---- create above / drop below ----
DROP INDEX matching.shop_matches_b_idx;
DELETE FROM matching.shop_matches m WHERE NOT EXISTS (SELECT 1 FROM matching.shops s WHERE s.lead_id = m.a AND s.merchant_id IS NOT NULL)
    OR NOT EXISTS (SELECT 1 FROM matching.shops s WHERE s.lead_id = m.b AND s.merchant_id IS NOT NULL);
UPDATE matching.shop_matches m SET a = least(sa.merchant_id, sb.merchant_id), b = greatest(sa.merchant_id, sb.merchant_id)
FROM matching.shops sa, matching.shops sb WHERE sa.lead_id = m.a AND sb.lead_id = m.b;
DELETE FROM matching.shops WHERE merchant_id IS NULL;
ALTER TABLE matching.shops DROP COLUMN origin, DROP COLUMN import_id, DROP COLUMN category, DROP COLUMN city, DROP COLUMN archived;
ALTER TABLE matching.shops DROP CONSTRAINT shops_merchant_key;
ALTER TABLE matching.shops DROP CONSTRAINT shops_pkey;
ALTER TABLE matching.shops ALTER COLUMN merchant_id SET NOT NULL;
ALTER TABLE matching.shops ADD PRIMARY KEY (merchant_id);
