-- name: SetMerchantPlace :exec
UPDATE marketing.merchants SET lat = $2, lng = $3 WHERE merchant_id = $1;

-- name: MerchantPlace :one
SELECT lat::float8 AS lat, lng::float8 AS lng FROM marketing.merchants WHERE merchant_id = $1 AND lat IS NOT NULL AND lng IS NOT NULL;

-- name: MerchantChoices :many
SELECT merchant_id, city, category, (lat IS NOT NULL AND lng IS NOT NULL)::bool AS placed
FROM marketing.merchants ORDER BY city, category, merchant_id LIMIT 500;
