package pg

import (
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// BenchmarkUUID encodes and scans an id as pgx does for a query's parameter and
// result: through the text form (pgx's default for uuid.UUID) and as binary.
func BenchmarkUUID(b *testing.B) {
	id := uuid.Must(uuid.NewV7())
	for _, c := range []struct {
		name string
		prep func(*pgtype.Map)
	}{{"text", func(*pgtype.Map) {}}, {"binary", binaryUUIDs}} {
		b.Run(c.name, func(b *testing.B) {
			m := pgtype.NewMap()
			c.prep(m)
			buf := make([]byte, 0, 64)
			var got uuid.UUID
			for b.Loop() {
				enc, err := m.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, id, buf[:0])
				if err != nil {
					b.Fatal(err)
				}
				if err := m.Scan(pgtype.UUIDOID, pgtype.BinaryFormatCode, enc, &got); err != nil || got != id {
					b.Fatal(got, err)
				}
			}
		})
	}
}

// SortUUIDs orders ids as PostgreSQL orders uuid values: byte by byte, which is the
// order of their canonical lowercase text.
func TestSortUUIDsOrdersAsTheirText(t *testing.T) {
	ids := make([]uuid.UUID, 200)
	for i := range ids {
		ids[i] = uuid.New()
	}
	ids = append(ids, uuid.Nil, uuid.Max)
	SortUUIDs(ids)
	for i := 1; i < len(ids); i++ {
		if ids[i-1].String() > ids[i].String() {
			t.Fatalf("%s before %s", ids[i-1], ids[i])
		}
	}
	if ids[0] != uuid.Nil || ids[len(ids)-1] != uuid.Max {
		t.Fatalf("ends %s and %s, want the nil and the max uuid", ids[0], ids[len(ids)-1])
	}
}
