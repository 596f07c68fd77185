-- Users' phones and consumers' phone identities in E.164 (shared/phone), as new ones
-- are stored, so that a consumer who gives their number another way is still found.
-- Two old phone identities that turn out to be one number cannot both hold it
-- (consumer_identities_value_key): the older keeps it, the other keeps its old form
-- for the matching domain to merge; none is lost.
UPDATE identity.users SET phone = platform.phone_e164(phone)
WHERE phone <> '' AND platform.phone_e164(phone) <> phone;

WITH moved AS (
    SELECT DISTINCT ON (e164) id, e164
    FROM (SELECT id, value, platform.phone_e164(value) AS e164
          FROM identity.consumer_identities WHERE kind = 'phone') AS n
    WHERE e164 <> value
    ORDER BY e164, id
)
UPDATE identity.consumer_identities AS ci SET value = moved.e164
FROM moved
WHERE ci.id = moved.id
  AND NOT EXISTS (SELECT 1 FROM identity.consumer_identities AS o WHERE o.kind = 'phone' AND o.value = moved.e164);

---- create above / drop below ----
-- E.164 is kept: the old forms cannot be told back apart.
