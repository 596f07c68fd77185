-- Leads' phones in E.164 (shared/phone), as new leads store them, so that a number
-- written another way is still the same shop. Two old rows that turn out to be one
-- number cannot both hold it (leads_phone_key): the older keeps it, the other keeps its
-- old form, to be merged by hand; none is lost.
WITH moved AS (
    SELECT DISTINCT ON (e164) id, e164
    FROM (SELECT id, phone, platform.phone_e164(phone) AS e164 FROM merchant.leads) AS n
    WHERE e164 <> phone
    ORDER BY e164, id
)
UPDATE merchant.leads AS l SET phone = moved.e164
FROM moved
WHERE l.id = moved.id AND NOT EXISTS (SELECT 1 FROM merchant.leads AS o WHERE o.phone = moved.e164);

---- create above / drop below ----
-- E.164 is kept: the old forms cannot be told back apart.
