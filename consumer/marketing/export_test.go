package marketing

import "github.com/jackc/pgx/v5/pgxpool"

// DBOf is the service's pool, for tests that run its batched subscriptions by hand.
func DBOf(s *Service) *pgxpool.Pool { return s.db }
