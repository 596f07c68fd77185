package consumer_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

// A credit and a redemption are each one large statement; planning the credit at
// every call cost about as much as running it. PostgreSQL keeps re-planning a prepared
// statement whose generic plan it estimates dearer than its custom plans, so after its
// first five custom plans every further call must run on the generic one. One
// connection, so that every call is on the connection whose plan cache is read.
func TestCreditAndRedemptionArePlannedOncePerConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, _ := pgtest.NewDatabase(t, audit.Migrations, identity.Migrations, consumer.Migrations)
	db, err := pg.Connect(ctx, url, pg.PoolConfig{MaxConns: 1, AppName: "tandem-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	id := uuid.New()
	if _, err := db.Exec(ctx, `WITH m AS (INSERT INTO consumer.members (id, phone, joined_at) VALUES ($1, '13900000001', now()) RETURNING id)
	    INSERT INTO consumer.points_balances (consumer_id, balance, updated_at) SELECT id, 0, now() FROM m`, id); err != nil {
		t.Fatal(err)
	}
	svc := consumer.New(domain.Deps{DB: db}, consumer.Ports{}, consumer.Config{})
	const calls = 9
	for i := range calls {
		if _, err := svc.CreditPoints(ctx, consumer.CreditRequest{ConsumerID: id, Points: 10, SourceKey: fmt.Sprintf("plan-%d", i), Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Redeem(ctx, id, consumer.RedeemRequest{Points: 5, Key: fmt.Sprintf("plan-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"CreditLot", "RedeemLots"} {
		var generic, custom int64
		if err := db.QueryRow(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE $1`,
			"-- name: "+name+" %").Scan(&generic, &custom); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if custom > 5 || generic < calls-5 {
			t.Errorf("%s was planned for %d of its %d calls (generic plan %d times); want at most the first 5", name, custom, generic+custom, generic)
		}
	}
}
