package pg_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tandemcrm/tandem/shared/pgtest"
)

// Ids go to PostgreSQL and back as binary uuids, not through their text form, and
// read back the same: one, an array, NULL (the zero id, as before), a pointer.
func TestUUIDsAreBinary(t *testing.T) {
	t.Parallel()
	pool := pgtest.New(t, demo)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, v := range []any{uuid.UUID{}, &uuid.UUID{}} {
		plan := conn.Conn().TypeMap().PlanEncode(pgtype.UUIDOID, pgtype.BinaryFormatCode, v)
		if got := fmt.Sprintf("%T", plan); got == "*pgtype.encodePlanDriverValuer" {
			t.Fatalf("%T is encoded through its text form (%s)", v, got)
		}
	}
	a, b := uuid.New(), uuid.Must(uuid.NewV7())
	var one, null uuid.UUID
	var arr []uuid.UUID
	var text string
	null = a
	if err := pool.QueryRow(ctx, "SELECT $1::uuid, $1::uuid::text, $2::uuid[], NULL::uuid", b, []uuid.UUID{a, b}).
		Scan(&one, &text, &arr, &null); err != nil {
		t.Fatal(err)
	}
	if one != b || text != b.String() || len(arr) != 2 || arr[0] != a || arr[1] != b || null != a {
		t.Fatalf("read back %s (%s), %v, NULL left %s", one, text, arr, null)
	}
	var ptr *uuid.UUID
	if err := pool.QueryRow(ctx, "SELECT $1::uuid", &a).Scan(&ptr); err != nil || ptr == nil || *ptr != a {
		t.Fatalf("through pointers: %v, %v", ptr, err)
	}
	if err := pool.QueryRow(ctx, "SELECT NULL::uuid").Scan(&ptr); err != nil || ptr != nil {
		t.Fatalf("NULL into a pointer: %v, %v", ptr, err)
	}
	var isNull bool
	if err := pool.QueryRow(ctx, "SELECT $1::uuid IS NULL", (*uuid.UUID)(nil)).Scan(&isNull); err != nil || !isNull {
		t.Fatalf("a nil pointer is sent as %v, %v", isNull, err)
	}
}
