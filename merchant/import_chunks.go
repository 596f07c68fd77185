package merchant

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/events"
)

// An import's staged rows become leads in chunks of Config.ImportChunkRows rows of the
// file, each chunk one transaction: its leads, their history and events, its routing
// and its count on the import row commit together, and its staged rows are deleted by
// the statement that inserts them, so a row becomes a lead exactly once however many
// runners take the chunk up. importInsertConns chunks are inserted at once, on
// connections of the pool: the insert's time is the maintenance of the lead indexes, a
// CPU's work that one statement cannot spread. A runner that dies or is stopped
// between chunks leaves the import to the next run (the event's retry, or the task
// merchant:imports), which inserts only the chunks not done: an import is resumed,
// never rolled back, once its rows are staged. The dedup against earlier rows of the
// file was done over the whole file while staging, so chunk boundaries change nothing.
const importInsertConns = 2

// insertChunks inserts the chunks of imp not done yet, then finishes the import.
func (s *Service) insertChunks(ctx context.Context, imp merchantdb.MerchantImport, took func(string) []any) error {
	q := merchantdb.New(s.db)
	pool, err := q.GetPool(ctx, imp.PoolID)
	if err != nil {
		return err
	}
	chunks := (int(imp.TotalRows) + int(imp.ChunkRows) - 1) / int(imp.ChunkRows)
	todo := make(chan int, chunks)
	for k := range chunks {
		if !slices.Contains(imp.ChunksDone, int32(k)) {
			todo <- k
		}
	}
	close(todo)
	conns := importInsertConns
	if imp.ByRules {
		conns = 1 // the rules' turn and the reps' caps are locked per chunk: one at a time
	}
	g, gctx := errgroup.WithContext(ctx)
	for range conns {
		g.Go(func() error {
			for k := range todo {
				if err := s.insertChunk(gctx, imp, pool, k); err != nil {
					return fmt.Errorf("chunk %d: %w", k, err)
				}
				if s.afterImportChunk != nil {
					s.afterImportChunk(k)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	took("insert")
	return s.inTx(ctx, func(_ pgx.Tx, tq *merchantdb.Queries) error {
		done, err := tq.GetImport(ctx, imp.ID)
		if err != nil {
			return err
		}
		var problems []ImportProblem
		if err := json.Unmarshal(done.Problems, &problems); err != nil {
			return err
		}
		if err := s.finishImport(ctx, tq, done, int(done.TotalRows), int(done.Imported), int(done.Assigned), problems); err != nil {
			return err
		}
		took("report")
		s.log.InfoContext(ctx, "merchant import staged and inserted", append([]any{"import", imp.ID, "rows", done.TotalRows,
			"imported", done.Imported, "chunks", chunks}, took("")...)...)
		return nil
	})
}

// importChunkSQL makes leads of the staged rows of one chunk ($6 the import, $7 and
// $8 its first row and the next chunk's), in the pool, with their first history
// entries, and returns every row of the chunk with whether it became a lead (a row
// whose phone or licence a concurrent create took meanwhile is skipped: ON CONFLICT).
// The history rows take the lead's id as theirs (each table's first row of a lead;
// time-ordered UUIDv7 ids append to the primary keys' last pages instead of writing
// all over them).
const importChunkSQL = `WITH rows AS (
    DELETE FROM merchant.import_staged WHERE import_id = $6 AND row >= $7 AND row < $8
    RETURNING row, id, name, category, address, lat, lng, phone_raw, phone, city, licence_no, level
), ins AS (
    INSERT INTO merchant.leads (id, name, category, address, lat, lng, phone_raw, phone, city, org_unit_id,
        stage, created_by, created_at, updated_at, pool_id, licence_no, level)
    SELECT id, name, category, address, lat, lng, phone_raw, phone, city, $1, 'lead', $2, $3, $3, $4, licence_no, level
    FROM rows ORDER BY row
    ON CONFLICT DO NOTHING
    RETURNING id
), owners AS (
    INSERT INTO merchant.lead_owner_history (id, lead_id, event, from_owner, to_owner, reason, by_user, at)
    SELECT id, id, 'created', NULL, NULL, $5, $2, $3 FROM ins
), stages AS (
    INSERT INTO merchant.stage_history (id, lead_id, from_stage, to_stage, reason, by_user, at)
    SELECT id, id, NULL, 'lead', 'imported', $2, $3 FROM ins
)
SELECT r.row, r.id, r.name, r.category, r.city, r.lat, r.lng, r.phone, coalesce(r.licence_no, ''), i.id IS NOT NULL
FROM rows r LEFT JOIN ins i ON i.id = r.id ORDER BY r.row`

// insertChunk inserts chunk k of imp in one transaction.
func (s *Service) insertChunk(ctx context.Context, imp merchantdb.MerchantImport, pool merchantdb.MerchantPool, k int) error {
	size := int(imp.ChunkRows)
	first := 2 + k*size
	at := imp.UpdatedAt
	return s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		rows, err := tx.Query(ctx, importChunkSQL, pool.OrgUnitID, imp.ByUser, at, pool.ID, "imported into "+pool.Name, imp.ID, first, first+size)
		if err != nil {
			return err
		}
		var ids []uuid.UUID
		var leads []events.LeadChanged
		var raced []ImportProblem
		for rows.Next() {
			var row int32
			var made bool
			l := events.LeadChanged{At: at.UTC()}
			if err := rows.Scan(&row, &l.LeadID, &l.Name, &l.Category, &l.City, &l.Lat, &l.Lng, &l.Phone, &l.LicenceNo, &made); err != nil {
				rows.Close()
				return err
			}
			if !made {
				raced = append(raced, ImportProblem{Row: int(row), Column: "phone", Reason: "this shop was created meanwhile (the same phone or licence number)"})
				continue
			}
			ids, leads = append(ids, l.LeadID), append(leads, l)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		perChunk := (size + events.LeadsImportedBatch - 1) / events.LeadsImportedBatch
		if err := publishImported(ctx, tx, imp.ID, k*perChunk, leads); err != nil {
			return err
		}
		assigned := 0
		if imp.ByRules && len(ids) > 0 {
			res, err := s.route(ctx, tx, pool.OrgUnitID, ids, imp.ByUser)
			if err != nil {
				return err
			}
			assigned = res.Assigned
		}
		if raced == nil {
			raced = []ImportProblem{}
		}
		b, err := json.Marshal(raced)
		if err != nil {
			return err
		}
		return q.ImportChunkDone(ctx, merchantdb.ImportChunkDoneParams{ID: imp.ID, Chunk: int32(k), Imported: int32(len(ids)),
			Assigned: int32(assigned), Problems: b, UpdatedAt: s.now()})
	})
}
