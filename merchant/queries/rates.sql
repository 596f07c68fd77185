-- name: CommissionRateOn :one
-- The commission rate in force for a merchant on a day: of its current contract and
-- the contracts that one renews (followed by primary key), the one that started
-- latest on or before the day. No row when the day is before all of them.
WITH RECURSIVE chain AS (
    SELECT c.id, c.renewed_from, c.starts_on, c.commission_rate
    FROM merchant.merchants m JOIN merchant.contracts c ON c.id = m.contract_id
    WHERE m.id = sqlc.arg(merchant_id)
    UNION ALL
    SELECT p.id, p.renewed_from, p.starts_on, p.commission_rate
    FROM chain JOIN merchant.contracts p ON p.id = chain.renewed_from
)
SELECT commission_rate FROM chain WHERE starts_on <= sqlc.arg(day)::date ORDER BY starts_on DESC LIMIT 1;
