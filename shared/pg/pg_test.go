package pg_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

var demo = pg.MigrationSet{Name: "demo", FS: fstest.MapFS{
	"001_init.sql": {Data: []byte(`CREATE SCHEMA demo;
CREATE TABLE demo.counter (id int PRIMARY KEY, n int NOT NULL CHECK (n >= 0));
CREATE TABLE demo.child (id int PRIMARY KEY, counter_id int NOT NULL REFERENCES demo.counter(id));
INSERT INTO demo.counter VALUES (1, 0);`)},
}}

func TestInTxRetriesSerializationFailures(t *testing.T) {
	t.Parallel()
	pool := pgtest.New(t, demo)
	ctx := context.Background()
	// Eight concurrent serializable read-modify-writes of one row: PostgreSQL aborts
	// all but one per round with 40001, InTx re-runs them, and no increment is lost.
	const workers = 8
	var runs atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := pg.InTx(ctx, pool, pg.TxOptions{Isolation: pgx.Serializable, Attempts: 50}, func(tx pgx.Tx) error {
				runs.Add(1)
				var n int
				if err := tx.QueryRow(ctx, "SELECT n FROM demo.counter WHERE id = 1").Scan(&n); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, "UPDATE demo.counter SET n = $1 WHERE id = 1", n+1)
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var n int
	if err := pool.QueryRow(ctx, "SELECT n FROM demo.counter WHERE id = 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != workers {
		t.Fatalf("counter = %d, want %d", n, workers)
	}
	if runs.Load() <= workers {
		t.Logf("no serialization conflict happened this run (%d runs)", runs.Load())
	}
}

func TestInTxRollsBackOnError(t *testing.T) {
	t.Parallel()
	pool := pgtest.New(t, demo)
	ctx := context.Background()
	boom := errors.New("boom")
	err := pg.InTx(ctx, pool, pg.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE demo.counter SET n = 99 WHERE id = 1"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	var n int
	_ = pool.QueryRow(ctx, "SELECT n FROM demo.counter WHERE id = 1").Scan(&n)
	if n != 0 {
		t.Fatalf("n = %d after rollback, want 0", n)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	pool := pgtest.New(t, demo)
	ctx := context.Background()
	cases := []struct {
		sql  string
		kind errs.Kind
		code string
		is   func(error) bool
	}{
		{"INSERT INTO demo.counter VALUES (1, 0)", errs.KindConflict, "duplicate", func(e error) bool { return pg.IsUniqueViolation(e, "counter_pkey") }},
		{"INSERT INTO demo.child VALUES (1, 42)", errs.KindUnprocessable, "reference_invalid", func(e error) bool { return pg.IsForeignKeyViolation(e, "") }},
		{"UPDATE demo.counter SET n = -1", errs.KindInvalid, "invalid_input", func(e error) bool { return pg.IsCheckViolation(e, "counter_n_check") }},
	}
	for _, c := range cases {
		_, err := pool.Exec(ctx, c.sql)
		got := pg.Classify(err)
		if errs.KindOf(got) != c.kind || errs.CodeOf(got) != c.code || !c.is(got) {
			t.Errorf("%s: got %v (kind %v)", c.sql, got, errs.KindOf(got))
		}
	}
	err := pg.Classify(pool.QueryRow(ctx, "SELECT n FROM demo.counter WHERE id = 7").Scan(new(int)))
	if errs.KindOf(err) != errs.KindNotFound {
		t.Errorf("no rows: got %v", err)
	}
}

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	pool := pgtest.New(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := pg.Migrate(ctx, pool, demo); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var v int
	if err := pool.QueryRow(ctx, "SELECT version FROM platform.schema_version_demo").Scan(&v); err != nil || v != 1 {
		t.Fatalf("version = %d, %v", v, err)
	}
}
