-- Why an owner or stage change happened, as the system knows it: a code with its
-- parameters (reason_code '' when a person typed the reason). The reason column keeps
-- the English wording the API has always given; readers show the code in their language
-- instead of parsing that wording (console_timeline.go).
ALTER TABLE merchant.lead_owner_history
    ADD COLUMN reason_code   text  NOT NULL DEFAULT '',
    ADD COLUMN reason_params jsonb NOT NULL DEFAULT '{}';
ALTER TABLE merchant.stage_history
    ADD COLUMN reason_code   text  NOT NULL DEFAULT '',
    ADD COLUMN reason_params jsonb NOT NULL DEFAULT '{}';

-- The rows written before the codes, by the wording the system wrote them in then.
UPDATE merchant.lead_owner_history SET (reason_code, reason_params) = (
    CASE
        WHEN event = 'created' AND reason LIKE 'created into %' THEN 'created_into'
        WHEN event = 'created' AND reason LIKE 'imported into %' THEN 'imported_into'
        WHEN event = 'claimed' AND reason LIKE 'claimed from %' THEN 'claimed_from'
        WHEN event = 'assigned' AND reason LIKE 'assignment rule %' THEN 'assignment_rule'
        WHEN event = 'reclaimed' AND reason LIKE 'reclaimed by the pool''s rules: due on %' THEN 'reclaim_due'
        WHEN event = 'reclaimed' AND reason = 'rep disabled: handed over to the pool' THEN 'rep_disabled'
        WHEN event = 'reclaimed' AND reason = 'rep moved to another team: handed over to the pool' THEN 'rep_moved'
    END,
    CASE
        WHEN event = 'created' AND reason LIKE 'created into %' THEN jsonb_build_object('pool', substr(reason, 14))
        WHEN event = 'created' AND reason LIKE 'imported into %' THEN jsonb_build_object('pool', substr(reason, 15))
        WHEN event = 'claimed' AND reason LIKE 'claimed from %' THEN jsonb_build_object('pool', substr(reason, 14))
        WHEN event = 'assigned' AND reason LIKE 'assignment rule %' THEN jsonb_build_object('rule', substr(reason, 17))
        WHEN event = 'reclaimed' AND reason LIKE 'reclaimed by the pool''s rules: due on %' THEN jsonb_build_object('day', substr(reason, 39))
        ELSE '{}'::jsonb
    END)
WHERE event IN ('created', 'claimed', 'assigned', 'reclaimed')
  AND (reason LIKE 'created into %' OR reason LIKE 'imported into %' OR reason LIKE 'claimed from %'
       OR reason LIKE 'assignment rule %' OR reason LIKE 'reclaimed by the pool''s rules: due on %'
       OR reason IN ('rep disabled: handed over to the pool', 'rep moved to another team: handed over to the pool'));

UPDATE merchant.stage_history SET (reason_code, reason_params) = (
    CASE
        WHEN from_stage IS NULL AND reason = 'created' THEN 'created'
        WHEN from_stage IS NULL AND reason = 'imported' THEN 'imported'
        WHEN reason = 'onboarding submitted' THEN 'onboarding_submitted'
        WHEN reason = 'onboarding approved and finished at WeChat' THEN 'onboarding_approved'
        WHEN reason LIKE 'contract %; discount approved by %' THEN 'contract_discount'
        ELSE 'contract'
    END,
    CASE
        WHEN reason LIKE 'contract %; discount approved by %' THEN jsonb_build_object(
            'contract_no', split_part(substr(reason, 10), '; discount approved by ', 1),
            'approver', split_part(reason, '; discount approved by ', 2))
        WHEN reason LIKE 'contract %' AND to_stage = 'signed' THEN jsonb_build_object('contract_no', substr(reason, 10))
        ELSE '{}'::jsonb
    END)
WHERE (from_stage IS NULL AND reason IN ('created', 'imported'))
   OR reason IN ('onboarding submitted', 'onboarding approved and finished at WeChat')
   OR (reason LIKE 'contract %' AND to_stage = 'signed');

---- create above / drop below ----

ALTER TABLE merchant.stage_history DROP COLUMN reason_params, DROP COLUMN reason_code;
ALTER TABLE merchant.lead_owner_history DROP COLUMN reason_params, DROP COLUMN reason_code;
