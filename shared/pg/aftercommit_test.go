package pg_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

// AfterCommit runs once per key after the commit, sees what the transaction wrote, and
// never runs for a transaction that rolled back.
func TestAfterCommitRunsOnceAfterTheCommit(t *testing.T) {
	t.Parallel()
	pool := pgtest.New(t, demo)
	ctx := context.Background()
	var seen []int
	hook := func(ctx context.Context, db pg.Execer) {
		var n int
		if err := pool.QueryRow(ctx, "SELECT n FROM demo.counter WHERE id = 1").Scan(&n); err != nil {
			t.Error(err)
		}
		seen = append(seen, n)
	}
	err := pg.InTx(ctx, pool, pg.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE demo.counter SET n = 7 WHERE id = 1"); err != nil {
			return err
		}
		for range 3 {
			if !pg.AfterCommit(tx, "k", hook) {
				t.Error("AfterCommit refused InTx's transaction")
			}
		}
		if len(seen) != 0 {
			t.Error("the hook ran before the commit")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != 7 {
		t.Fatalf("hook runs %v, want one that saw the committed 7", seen)
	}

	boom := errors.New("boom")
	err = pg.InTx(ctx, pool, pg.TxOptions{}, func(tx pgx.Tx) error {
		pg.AfterCommit(tx, "k", hook)
		return boom
	})
	if !errors.Is(err, boom) || len(seen) != 1 {
		t.Fatalf("after a rollback: err %v, hook runs %v", err, seen)
	}

	// A transaction not begun by InTx has no hooks: the caller is told.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if pg.AfterCommit(tx, "k", hook) {
		t.Fatal("AfterCommit accepted a transaction it cannot see commit")
	}
}
