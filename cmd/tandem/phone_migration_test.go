package main

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

// The data migrations that bring phones stored before shared/phone to E.164: rows in
// the old forms are rewritten, and two old rows that are one number (which the unique
// keys allow only once) leave the newer in its old form instead of failing the upgrade.
func TestPhoneDataMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, migrationSets()...)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	pool := uuid.Must(uuid.NewV7())
	exec(`INSERT INTO merchant.pools (id, name, created_at, updated_at) VALUES ($1, 'pool', now(), now())`, pool)
	lead := func(phone string) uuid.UUID {
		id := uuid.Must(uuid.NewV7())
		exec(`INSERT INTO merchant.leads (id, name, category, address, lat, lng, phone_raw, phone, city, stage, created_by, created_at, updated_at, pool_id)
			VALUES ($1, 'shop', 'restaurant', '', 31.2, 121.4, $2, $2, '上海', 'lead', $1, now(), now(), $3)`, id, phone, pool)
		return id
	}
	mobile, landline, plusLandline, foreign := lead("13800138000"), lead("02162880000"), lead("2162880000"), lead("+442079460958")
	member := uuid.Must(uuid.NewV7())
	exec(`INSERT INTO consumer.members (id, phone, joined_at) VALUES ($1, '138 0013 8000', now())`, member)
	ident := func(value string) uuid.UUID {
		id := uuid.Must(uuid.NewV7())
		exec(`INSERT INTO identity.consumer_identities (id, consumer_id, kind, value) VALUES ($1, $1, 'phone', $2)`, id, value)
		return id
	}
	older, newer := ident("+86 139-0000-0001"), ident("13900000001")
	user := uuid.Must(uuid.NewV7())
	exec(`INSERT INTO identity.users (id, login, display_name, kind, merchant_id, phone, password_hash)
		VALUES ($1, 'shop.owner', 'owner', 'merchant', $1, '138-1234-5678', 'x')`, user)

	for _, set := range []pg.MigrationSet{merchant.Migrations, consumer.Migrations, identity.Migrations} {
		up := migrationUp(t, set, "_phone_e164.sql")
		exec(up)
	}

	want := func(sql string, id uuid.UUID, phone string) {
		t.Helper()
		var got string
		if err := db.QueryRow(ctx, sql, id).Scan(&got); err != nil || got != phone {
			t.Errorf("%s [%s] = %q, %v; want %q", sql, id, got, err, phone)
		}
	}
	const leadPhone = `SELECT phone FROM merchant.leads WHERE id = $1`
	want(leadPhone, mobile, "+8613800138000")
	want(leadPhone, foreign, "+442079460958")
	// 02162880000 and 2162880000 are one landline: the older lead holds it now.
	want(leadPhone, landline, "+862162880000")
	want(leadPhone, plusLandline, "2162880000")
	want(`SELECT phone FROM consumer.members WHERE id = $1`, member, "+8613800138000")
	const identValue = `SELECT value FROM identity.consumer_identities WHERE id = $1`
	want(identValue, older, "+8613900000001")
	want(identValue, newer, "13900000001")
	want(`SELECT phone FROM identity.users WHERE id = $1`, user, "+8613812345678")
}

// migrationUp is the "create above" part of the set's migration named by suffix.
func migrationUp(t *testing.T, set pg.MigrationSet, suffix string) string {
	t.Helper()
	names, err := fs.Glob(set.FS, "*"+suffix)
	if err != nil || len(names) != 1 {
		t.Fatalf("%s: migrations %v (%v)", set.Name, names, err)
	}
	b, err := fs.ReadFile(set.FS, names[0])
	if err != nil {
		t.Fatal(err)
	}
	up, _, _ := strings.Cut(string(b), "---- create above / drop below ----")
	return up
}
