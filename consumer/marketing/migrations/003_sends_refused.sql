-- A member the issuer refused (no longer a member, over a coupon batch's limit, the
-- batch out of stock) stays in the run as arm 'refused': sent nothing, counted in
-- neither arm of the results.
ALTER TABLE marketing.sends DROP CONSTRAINT sends_arm_check;
ALTER TABLE marketing.sends ADD CONSTRAINT sends_arm_check CHECK (arm IN ('treatment', 'control', 'refused'));
