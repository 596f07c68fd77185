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
