package audit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/logging"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

type scope struct {
	all          bool
	owners, orgs []uuid.UUID
}

func (s scope) SeesAll() bool            { return s.all }
func (s scope) OwnerIDs() []uuid.UUID    { return s.owners }
func (s scope) OrgUnitIDs() []uuid.UUID  { return s.orgs }
func (s scope) MerchantIDs() []uuid.UUID { return nil }

func TestAppendOnly(t *testing.T) {
	db := pgtest.New(t, audit.Migrations)
	ctx := logging.WithRequestID(audit.WithClientIP(context.Background(), "10.0.0.7"), "req-12345678")
	actor := audit.Actor{ID: uuid.Must(uuid.NewV7()), Login: "alice"}
	err := pg.InTx(ctx, db, pg.TxOptions{}, func(tx pgx.Tx) error {
		return audit.Record(ctx, tx, audit.Event{Actor: actor, Action: "identity.user.update", ObjectType: "identity.user",
			ObjectID: "u1", Before: map[string]string{"name": "a"}, After: map[string]string{"name": "b"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"UPDATE audit.entries SET action = 'forged'",
		"DELETE FROM audit.entries",
		"TRUNCATE audit.entries",
	} {
		_, err := db.Exec(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: want refusal, got %v", q, err)
		}
	}
	got, next, err := audit.NewLog(db).List(ctx, scope{all: true}, audit.Filter{})
	if err != nil || len(got) != 1 || next != uuid.Nil {
		t.Fatalf("list: %v %d", err, len(got))
	}
	e := got[0]
	if e.Action != "identity.user.update" || e.RequestID != "req-12345678" || e.IP != "10.0.0.7" || e.ActorLogin != "alice" ||
		string(e.Before) != `{"name": "a"}` || string(e.After) != `{"name": "b"}` {
		t.Fatalf("entry: %+v before %s after %s", e, e.Before, e.After)
	}
}

func TestListFiltersScopeAndPages(t *testing.T) {
	db := pgtest.New(t, audit.Migrations)
	ctx := context.Background()
	alice, bob := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	teamA := uuid.Must(uuid.NewV7())
	for i := range 7 {
		a := audit.Actor{ID: alice, Login: "alice", OrgUnitID: teamA}
		action := "identity.user.create"
		if i%2 == 1 {
			a = audit.Actor{ID: bob, Login: "bob"}
			action = "auth.login"
		}
		err := pg.InTx(ctx, db, pg.TxOptions{}, func(tx pgx.Tx) error {
			return audit.Record(ctx, tx, audit.Event{Actor: a, Action: action, ObjectType: "identity.user", ObjectID: a.Login})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	log := audit.NewLog(db)
	count := func(s audit.Scope, f audit.Filter) int {
		n := 0
		if err := log.Each(ctx, s, f, func(audit.Entry) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	all := scope{all: true}
	cases := []struct {
		name string
		s    audit.Scope
		f    audit.Filter
		want int
	}{
		{"all", all, audit.Filter{}, 7},
		{"actor login", all, audit.Filter{Actor: "bob"}, 3},
		{"actor id", all, audit.Filter{Actor: alice.String()}, 4},
		{"action prefix", all, audit.Filter{Action: "identity.user"}, 4},
		{"object", all, audit.Filter{ObjectType: "identity.user", ObjectID: "bob"}, 3},
		{"future", all, audit.Filter{Since: time.Now().Add(time.Hour)}, 0},
		{"past", all, audit.Filter{Until: time.Now().Add(-time.Hour)}, 0},
		{"own scope", scope{owners: []uuid.UUID{bob}}, audit.Filter{}, 3},
		{"team scope", scope{orgs: []uuid.UUID{teamA}}, audit.Filter{}, 4},
		{"empty scope sees nothing", scope{}, audit.Filter{}, 0},
	}
	for _, c := range cases {
		if got := count(c.s, c.f); got != c.want {
			t.Errorf("%s: %d entries, want %d", c.name, got, c.want)
		}
	}
	page, next, err := log.List(ctx, all, audit.Filter{Limit: 3})
	if err != nil || len(page) != 3 || next != page[2].ID {
		t.Fatalf("page 1: %v %d", err, len(page))
	}
	page2, _, err := log.List(ctx, all, audit.Filter{Limit: 3, Before: next})
	if err != nil || len(page2) != 3 || page2[0].ID.String() >= page[2].ID.String() {
		t.Fatalf("page 2: %v %d", err, len(page2))
	}
	days, err := log.CountByDay(ctx, all, "auth.login", time.Now().Add(-24*time.Hour))
	if err != nil || len(days) == 0 || days[len(days)-1].Count+func() int64 {
		if len(days) > 1 {
			return days[0].Count
		}
		return 0
	}() != 3 {
		t.Fatalf("count by day: %v %+v", err, days)
	}
}
