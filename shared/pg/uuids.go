package pg

import "github.com/google/uuid"

// UUIDs is ids as a parameter pgx encodes straight into a uuid[]. A []uuid.UUID is
// encoded element by element through uuid.UUID's driver.Valuer (a string each, and a
// failed plan with a formatted error before it): at thousands of ids per statement
// that was most of a campaign send's CPU.
func UUIDs(ids []uuid.UUID) [][16]byte {
	out := make([][16]byte, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
