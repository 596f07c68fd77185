-- Room on every page of lots for each of its lots to be updated once before the page
-- is pruned. The expiry job updates every due lot, and a month's lots share pages
-- and expire in the same run. With fillfactor 70 a page of about 28 lots had room for
-- 12 new versions; the old ones can only be pruned once no running transaction can
-- see them, and with the job's concurrent batches that was often too late, so 30 to
-- 55 % of the expiry's updates left their page (no HOT update) and wrote an entry in
-- every index of lots, the long source key's among them: the job over a million lots
-- took 1.7 to 1.9 times the CPU it takes with every update in place. At fillfactor 50
-- every lot on a page can be updated once with no pruning at all.
-- Pages written from now on get the room; existing ones when rewritten (VACUUM FULL).
ALTER TABLE consumer.points_lots SET (fillfactor = 50);

---- create above / drop below ----
ALTER TABLE consumer.points_lots SET (fillfactor = 70);
