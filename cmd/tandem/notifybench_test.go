package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
)

// The notification benchmark runs end to end on a small load (on the test's own
// databases, not tandem_bench): every notification applied and credited, one row.
func TestBenchNotifySmall(t *testing.T) {
	ctx := context.Background()
	url, _ := pgtest.NewDatabase(t, migrationSets()...)
	db, err := pg.Connect(ctx, url, pg.PoolConfig{MaxConns: 8, AppName: "bench-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := pg.Migrate(ctx, db, migrationSets()...); err != nil {
		t.Fatal(err)
	}
	var out, progress bytes.Buffer
	cmd := &cobra.Command{}
	cmd.SetOut(&out)
	cmd.SetErr(&progress)
	cmd.SetContext(ctx)
	if err := benchNotify(ctx, cmd, db, redistest.New(t).Asynq(), notifyLoad{orders: 30, consumers: 4, payers: 4, rate: 0,
		modes: []string{viaHTTP, viaInProcess}}); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(rows) != 2 {
		t.Fatalf("want a row per delivery mode, got %q", out.String())
	}
	for i, mode := range []string{viaHTTP, viaInProcess} {
		row := rows[i]
		if !strings.HasPrefix(row, "| payment notifications, 30 orders of 4 members") || !strings.Contains(row, "("+mode+",") || !strings.Contains(row, "p99") {
			t.Fatalf("row %d: %q", i, row)
		}
	}
}

// --handler-only runs no worker: every notification applied and answered, no points
// awaited, one row with the handler's rate and its delivery-to-204 latency. At a
// --rate, the row says the rate the notifications were offered at.
func TestBenchNotifyHandlerOnly(t *testing.T) {
	ctx := context.Background()
	url, _ := pgtest.NewDatabase(t, migrationSets()...)
	db, err := pg.Connect(ctx, url, pg.PoolConfig{MaxConns: 8, AppName: "bench-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	var out, progress bytes.Buffer
	cmd := &cobra.Command{}
	cmd.SetOut(&out)
	cmd.SetErr(&progress)
	cmd.SetContext(ctx)
	if err := benchNotify(ctx, cmd, db, redistest.New(t).Asynq(), notifyLoad{orders: 20, consumers: 4, payers: 4, rate: 200,
		modes: []string{viaInProcess}, handlerOnly: true}); err != nil {
		t.Fatal(err)
	}
	row := strings.TrimSuffix(out.String(), "\n")
	if strings.Count(row, "\n") != 0 || !strings.Contains(row, "handler only (no worker)") || !strings.Contains(row, "notification -> 204 p50") ||
		!strings.Contains(row, "at 200/s, offered at ") || strings.Contains(row, "points") {
		t.Fatalf("row %q", row)
	}
	var credited int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM consumer.points_entries p
JOIN billing.orders o ON o.id = p.order_id WHERE o.description = 'bench'`).Scan(&credited); err != nil || credited != 0 {
		t.Fatalf("%d points entries with no worker (%v)", credited, err)
	}
	if !strings.Contains(progress.String(), "CPU per unit") {
		t.Fatalf("no CPU split: %q", progress.String())
	}
}

// The command refuses an empty load before touching any database.
func TestBenchNotifyFlags(t *testing.T) {
	cmd := benchNotifyCmd()
	if d := cmd.Flags().Lookup("orders").DefValue; d != "2000" {
		t.Fatalf("--orders defaults to %s", d)
	}
	cmd.SetArgs([]string{"--orders", "0"})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Fatalf("--orders 0: %v", err)
	}
}
