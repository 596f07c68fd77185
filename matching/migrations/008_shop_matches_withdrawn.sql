-- A shop match waiting for review is withdrawn when an edit takes away the evidence that
-- put it there (a phone or licence changed, a name or place no longer alike); it comes
-- back to review if the evidence does. decided_at and decided_by 'matching' say when.
ALTER TABLE matching.shop_matches DROP CONSTRAINT shop_matches_state_check;
ALTER TABLE matching.shop_matches ADD CONSTRAINT shop_matches_state_check CHECK (state IN ('review', 'linked', 'rejected', 'withdrawn'));

---- create above / drop below ----
DELETE FROM matching.shop_matches WHERE state = 'withdrawn';
ALTER TABLE matching.shop_matches DROP CONSTRAINT shop_matches_state_check;
ALTER TABLE matching.shop_matches ADD CONSTRAINT shop_matches_state_check CHECK (state IN ('review', 'linked', 'rejected'));
