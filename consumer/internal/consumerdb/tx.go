package consumerdb

import "github.com/jackc/pgx/v5"

// Tx is the transaction these queries run in, nil outside one. Written by hand
// beside sqlc's output: it lets a change made through q publish its event in the
// same transaction (consumer/membership_events.go) without every caller passing
// the transaction down beside q.
func (q *Queries) Tx() pgx.Tx {
	tx, _ := q.db.(pgx.Tx)
	return tx
}
