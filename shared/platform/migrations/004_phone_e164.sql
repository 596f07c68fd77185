-- platform.phone_e164 reads a phone number stored before shared/phone existed (the
-- three old normalisations: merchant's digits with +86 stripped, consumer's and
-- identity's trimmed input) into E.164, for the data migrations of the domains that
-- store phones. New numbers are normalised in Go (shared/phone); this function only
-- brings old rows to the same form, and a test holds it to shared/phone on every form
-- the old code could store. What it cannot read is returned unchanged.
CREATE FUNCTION platform.phone_e164(raw text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE
        WHEN d ~ '^\+860[1-9][0-9]{8,10}$' THEN '+86' || substr(d, 5)   -- +86 (0)21 ...
        WHEN d ~ '^\+[1-9][0-9]{6,14}$' THEN d                           -- international already
        WHEN d ~ '^00[1-9][0-9]{6,14}$' THEN '+' || substr(d, 3)         -- 0086 ..., 0044 ...
        WHEN d ~ '^861[3-9][0-9]{9}$' THEN '+' || d                      -- 86 138 ...
        WHEN d ~ '^1[3-9][0-9]{9}$' THEN '+86' || d                      -- a mobile
        WHEN d ~ '^0[1-9][0-9]{8,10}$' THEN '+86' || substr(d, 2)        -- a landline with its 0
        WHEN d ~ '^(10|[2-9][0-9])[0-9]{7,9}$' THEN '+86' || d           -- merchant's +86 landline, 0 lost
        ELSE raw
    END
    FROM (SELECT regexp_replace(btrim(raw), '[[:space:]().\-]', '', 'g') AS d) AS s
$$;

---- create above / drop below ----
DROP FUNCTION platform.phone_e164(text);
