-- Distance to a merchant: merchants keep where they are, and each member the grid
-- cell of the merchant of their latest order (where they buy; places.go).
ALTER TABLE marketing.merchants ADD COLUMN lat double precision;
ALTER TABLE marketing.merchants ADD COLUMN lng double precision;
ALTER TABLE marketing.members ADD COLUMN home_cell text NOT NULL DEFAULT '';
