package merchant

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
)

// rowReader yields a sheet's rows one at a time (io.EOF at the end): the file is
// never held as a table of strings.
type rowReader func() ([]string, error)

// openSheet reads a CSV (UTF-8, with or without a BOM) or an xlsx's first sheet.
func openSheet(name string, data []byte) (rowReader, func(), error) {
	if strings.HasSuffix(strings.ToLower(name), ".csv") {
		r := csv.NewReader(bytes.NewReader(trimBOM(data)))
		r.FieldsPerRecord = -1
		r.ReuseRecord = true
		return func() ([]string, error) {
			rec, err := r.Read()
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				return nil, errs.Invalidf("file", "not a CSV file: line %d: %v", perr.Line, perr.Err)
			}
			return rec, err
		}, func() {}, nil
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, errs.Invalidf("file", "not an Excel (.xlsx) file")
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return nil, nil, errs.Invalidf("file", "the workbook has no sheet")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		f.Close()
		return nil, nil, errs.Invalidf("file", "the first sheet cannot be read")
	}
	return func() ([]string, error) {
			if !rows.Next() {
				if err := rows.Error(); err != nil {
					return nil, errs.Invalidf("file", "the first sheet cannot be read")
				}
				return nil, io.EOF
			}
			return rows.Columns()
		}, func() {
			rows.Close()
			f.Close()
		}, nil
}

// errImportBusy: another runner holds the import.
var errImportBusy = errors.New("merchant: the import is being run by another worker")

// stagedColumns are the staging table's columns, in COPY order.
var stagedColumns = []string{"row", "id", "name", "category", "address", "city", "lat", "lng", "phone_raw", "phone", "licence_no", "level"}

// stager validates rows as COPY pulls them: bad rows go to the report, good ones to the
// staging table. A row with the phone or licence number of an earlier valid row of the
// file is refused here, by the maps of those seen (a few MiB at MaxImportRows), so the
// staging table holds each key once. It is pgx.CopyFromSource.
type stager struct {
	next     rowReader
	cols     map[string]int
	row      int // the row being read, counting the header as 1
	cur      []any
	err      error
	problems []ImportProblem
	phones   phoneMemo
	byPhone  map[string]int32 // the first valid row of each phone
	byLic    map[string]int32 // … and of each licence number
	progress func(rows int)
	probe    *nameProber // the similar-name probes against the database, fed as rows pass
}

func (s *stager) cell(r []string, field string) string {
	if i, ok := s.cols[field]; ok && i < len(r) {
		return strings.TrimSpace(r[i])
	}
	return ""
}

// refuse reports the current row, refused in col for code (import_reasons.go).
func (s *stager) refuse(col string, code ImportReasonCode, params ...string) {
	s.problems = append(s.problems, importProblem(s.row, col, code, params...))
}

// Next reads rows until a valid one (true) or the end (false, Err tells a failure).
func (s *stager) Next() bool {
	for {
		r, err := s.next()
		if err == io.EOF {
			return false
		}
		if err != nil {
			s.err = err
			return false
		}
		s.row++
		if s.row-1 > MaxImportRows {
			s.err = errs.Invalidf("file", "at most %d rows a file", MaxImportRows)
			return false
		}
		if s.progress != nil && (s.row-1)%importProgressEvery == 0 {
			s.progress(s.row - 1)
		}
		if blank(r) {
			continue
		}
		if v, ok := s.validate(r); ok {
			s.cur = v
			return true
		}
	}
}

func blank(r []string) bool {
	for _, c := range r {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// validate checks one row like a create; false when it went to the report.
func (s *stager) validate(r []string) ([]any, bool) {
	in := NewLead{Name: s.cell(r, "name"), Category: s.cell(r, "category"), Address: s.cell(r, "address"), Phone: s.cell(r, "phone"),
		City: s.cell(r, "city"), LicenceNo: s.cell(r, "licence_no")}
	for _, f := range []struct {
		name string
		dst  *float64
	}{{"lat", &in.Lat}, {"lng", &in.Lng}} {
		if v := s.cell(r, f.name); v != "" {
			var err error
			if *f.dst, err = strconv.ParseFloat(v, 64); err != nil {
				s.refuse(f.name, ImportNotANumber, "column", f.name)
				return nil, false
			}
		}
	}
	if err := in.validate(); err != nil {
		// The create's checks: a required field missing, or a coordinate out of range.
		switch f := errs.As(err).Field; f {
		case "lat":
			s.refuse(f, ImportOutOfRange, "column", f, "min", "-90", "max", "90")
		case "lng":
			s.refuse(f, ImportOutOfRange, "column", f, "min", "-180", "max", "180")
		default:
			s.refuse(f, ImportRequired, "column", f)
		}
		return nil, false
	}
	level, err := normalizeLevel(s.cell(r, "level"))
	if err != nil {
		s.refuse("level", ImportBadLevel)
		return nil, false
	}
	phone, err := s.phones.normalize(in.Phone)
	if err != nil {
		s.refuse("phone", ImportBadPhone, "column", "phone")
		return nil, false
	}
	var lic *string
	if in.LicenceNo != "" {
		l, err := NormalizeLicence(in.LicenceNo)
		if err != nil {
			fault, char := licenceFault(licenceForm(in.LicenceNo))
			s.refuse("licence_no", fault, "char", char)
			return nil, false
		}
		lic = &l
	}
	if first, ok := s.byPhone[phone]; ok {
		s.refuse("phone", ImportSamePhoneAs, "row", importRowNo(first))
		return nil, false
	}
	if lic != nil {
		if first, ok := s.byLic[*lic]; ok {
			s.refuse("licence_no", ImportSameLicenceAs, "row", importRowNo(first))
			return nil, false
		}
		s.byLic[*lic] = int32(s.row)
	}
	s.byPhone[phone] = int32(s.row)
	if s.probe != nil {
		s.probe.add(int32(s.row), in.Name, in.Lat, in.Lng)
	}
	return []any{int32(s.row), newID(), in.Name, in.Category, in.Address, in.City, in.Lat, in.Lng, in.Phone, phone, lic, level}, true
}

func (s *stager) Values() ([]any, error) { return s.cur, nil }
func (s *stager) Err() error             { return s.err }

// importFile runs one import in one transaction: the leads, their history, the
// routing and the import's report commit together, or nothing does.
func (s *Service) importFile(ctx context.Context, imp merchantdb.MerchantImport) error {
	q := merchantdb.New(s.db)
	data, err := q.GetImportFile(ctx, imp.ID)
	if err != nil {
		return fmt.Errorf("import file: %w", err)
	}
	next, closeSheet, err := openSheet(imp.FileName, data)
	if err != nil {
		return err
	}
	defer closeSheet()
	st := &stager{next: next, cols: map[string]int{}, row: 1, phones: phoneMemo{}, byPhone: map[string]int32{}, byLic: map[string]int32{}}
	header, err := next()
	if err != nil && err != io.EOF {
		return err
	}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		for field, names := range importFields {
			if slices.Contains(names, h) {
				st.cols[field] = i
			}
		}
	}
	for _, need := range []string{"name", "phone", "category", "city"} {
		if _, ok := st.cols[need]; !ok {
			st.problems = append(st.problems, importProblem(1, need, ImportNoColumn, "column", need))
		}
	}
	if len(st.problems) > 0 {
		return s.finishImport(ctx, q, imp, 0, 0, 0, st.problems)
	}
	st.progress = func(rows int) {
		_ = q.ImportProgress(ctx, merchantdb.ImportProgressParams{ID: imp.ID, DoneRows: int32(rows), UpdatedAt: s.now()})
	}
	pool, err := q.GetPool(ctx, imp.PoolID)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx, tq *merchantdb.Queries) error {
		// One runner an import: a runner taking up a stale import leaves it to the first
		// while that one's transaction lives.
		var mine bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended('merchant.import:' || $1::text, 0))`, imp.ID).Scan(&mine); err != nil {
			return err
		}
		if !mine {
			return errImportBusy
		}
		// JIT compiles the dedup's lateral join for most of a second and gains nothing on
		// it. The sorts and hashes of 100,000 rows fit in 64 MiB instead of spilling to disk.
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '64MB'`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE import_rows (row int4, id uuid, name text, category text, address text, city text,
    lat float8, lng float8, phone_raw text, phone text, licence_no text, level text) ON COMMIT DROP;
CREATE TEMP TABLE import_refused (row int4, col text, reason text, lead uuid, of_row int4) ON COMMIT DROP`); err != nil {
			return err
		}
		took := s.phases()
		st.probe = s.startNameProbes(ctx)
		defer st.probe.stop()
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_rows"}, stagedColumns, st); err != nil {
			if st.err != nil {
				return st.err
			}
			return err
		}
		total := st.row - 1
		if total == 0 {
			st.problems = append(st.problems, importProblem(1, "", ImportNoRows))
		}
		took("read and stage")
		refused, err := s.dedupStaged(ctx, tx, st.probe, took)
		if err != nil {
			return err
		}
		took("dedup in the file")
		problems := append(st.problems, refused...)
		ids, raced, err := insertStaged(ctx, tx, pool, imp)
		if err != nil {
			return err
		}
		took("insert")
		problems = append(problems, raced...)
		if err := publishImported(ctx, tx, imp.ID, imp.UpdatedAt); err != nil {
			return err
		}
		took("publish")
		assigned := 0
		if imp.ByRules && len(ids) > 0 {
			res, err := s.route(ctx, tx, pool.OrgUnitID, ids, imp.ByUser)
			if err != nil {
				return err
			}
			assigned = res.Assigned
		}
		took("route")
		if err := s.finishImport(ctx, tq, imp, total, len(ids), assigned, problems); err != nil {
			return err
		}
		took("report")
		s.log.InfoContext(ctx, "merchant import staged and inserted", append([]any{"import", imp.ID, "rows", total, "imported", len(ids)}, took("")...)...)
		return nil
	})
}

// phases times the phases of an import for its log line: took(name) closes the phase
// name; took("") returns the phases as slog attributes (the commit is not counted).
func (s *Service) phases() func(name string) []any {
	var attrs []any
	last := s.clock.Now()
	return func(name string) []any {
		if name != "" {
			now := s.clock.Now()
			attrs = append(attrs, slog.Duration(name, now.Sub(last).Round(time.Millisecond)))
			last = now
		}
		return attrs
	}
}

// finishImport writes the report and drops the file.
func (s *Service) finishImport(ctx context.Context, q *merchantdb.Queries, imp merchantdb.MerchantImport, total, imported, assigned int, problems []ImportProblem) error {
	sortProblems(problems)
	if problems == nil {
		problems = []ImportProblem{}
	}
	b, err := json.Marshal(problems)
	if err != nil {
		return err
	}
	if err := q.FinishImport(ctx, merchantdb.FinishImportParams{ID: imp.ID, State: ImportDone, TotalRows: int32(total), Imported: int32(imported),
		Assigned: int32(assigned), Problems: b, UpdatedAt: s.now()}); err != nil {
		return err
	}
	return q.DeleteImportFile(ctx, imp.ID)
}

// dedupSteps refuse staged rows in turn; each step sees only the rows the steps
// before it kept (the same phone or licence number as an earlier row of the file was
// refused while staging). A row refused for a shop in the database names it (lead).
// The similar name against the database is probed beside them (nameProber) and
// refused after the exact keys, before the similar name within the file.
var dedupSteps = []struct {
	sql string
	// probe: look each staged row up by the index. The planner, which takes every
	// staged row for a match, would rather read the whole leads table (2.5 s at a
	// million leads against 0.5 s of probes for 100,000 rows).
	probe bool
}{
	// A shop of the database with the same phone.
	{probe: true, sql: `INSERT INTO import_refused SELECT s.row, 'phone', 'phone', l.id FROM import_rows s JOIN merchant.leads l ON l.phone = s.phone`},
	// ... or the same licence number.
	{probe: true, sql: `INSERT INTO import_refused SELECT s.row, 'licence_no', 'licence_no', l.id FROM import_rows s JOIN merchant.leads l ON l.licence_no = s.licence_no`},
	// ... or a similar name nearby: the prober's finds ($1 rows, $2 their shops) among
	// the rows still staged.
	{sql: `INSERT INTO import_refused SELECT s.row, 'name', 'name_nearby', h.id
FROM unnest($1::int4[], $2::uuid[]) AS h (row, id) JOIN import_rows s ON s.row = h.row`},
}

// dedupInFileSQL refuses a similar name close to an earlier row of the file (of those
// still staged; $1 the radius in metres, $2 the similarity): the rows are put in
// cells at least the radius wide, and each row is compared only with the rows of its
// cell and the eight around it (a hash join on one key, the cell's number: on the two
// coordinates the planner may hash one and loop over the other, 100 times as many
// pairs), then measured. The cheap tests go first, which CASE guarantees: the box,
// then the names, then the exact distance. The planner takes similarity() for cheap
// and geography distances for dear, and would otherwise compare the names of every
// pair of the nine cells (1.5 million pairs for 100,000 rows, against a fifth of that
// in the box), or measure every pair's distance. A cell's number is cy * 1000003 + cx:
// the neighbours' numbers are exact; should two far cells share one (a radius under
// 40 m), their rows are only compared in vain, never missed.
const dedupInFileSQL = `WITH grid AS (
    SELECT $1::float8 / 110000 AS dlat,
           $1::float8 / (110000 * greatest(cos(radians(least(max(abs(lat)) + $1::float8 / 110000, 89.9))), 0.001)) AS dlng
    FROM import_rows
), cells AS MATERIALIZED (
    SELECT s.row, s.name, s.lat, s.lng, floor(s.lat / g.dlat)::int8 * 1000003 + floor(s.lng / g.dlng)::int8 AS cell, g.dlat, g.dlng
    FROM import_rows s, grid g WHERE s.lat <> 0 OR s.lng <> 0
)
INSERT INTO import_refused
SELECT b.row, 'name', 'similar_name', NULL, min(a.row)
FROM cells a CROSS JOIN (VALUES (-1), (0), (1)) dy (d) CROSS JOIN (VALUES (-1), (0), (1)) dx (d)
JOIN cells b ON b.cell = a.cell + dy.d * 1000003 + dx.d
WHERE b.row > a.row AND CASE WHEN abs(a.lat - b.lat) <= a.dlat AND abs(a.lng - b.lng) <= a.dlng
    THEN CASE WHEN similarity(a.name, b.name) >= $2
        THEN ST_DWithin(ST_SetSRID(ST_MakePoint(a.lng, a.lat), 4326)::geography, ST_SetSRID(ST_MakePoint(b.lng, b.lat), 4326)::geography, $1) END END
GROUP BY b.row`

// setPlanner sets the planner settings names to value for the rest of the transaction.
func setPlanner(ctx context.Context, tx pgx.Tx, names []string, value string) error {
	for _, n := range names {
		if _, err := tx.Exec(ctx, `SELECT set_config($1, $2, true)`, n, value); err != nil {
			return err
		}
	}
	return nil
}

// refuseStaged runs one refusing statement over the staged rows with its planner settings
// off, and drops the rows it refused from the staging table.
func refuseStaged(ctx context.Context, tx pgx.Tx, off []string, sql string, args ...any) error {
	if err := setPlanner(ctx, tx, off, "off"); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, sql, args...)
	if err != nil {
		return err
	}
	if err := setPlanner(ctx, tx, off, "on"); err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, `DELETE FROM import_rows WHERE row IN (SELECT row FROM import_refused)`)
	return err
}

// dedupStaged runs dedupSteps, then the similar name within the file, and returns the
// refused rows as the report says them. took closes the phase against the database.
func (s *Service) dedupStaged(ctx context.Context, tx pgx.Tx, probe *nameProber, took func(string) []any) ([]ImportProblem, error) {
	// The statistics of a sample of 3,000 rows (a tenth of the default's) plan as
	// well and take a tenth of the time.
	if _, err := tx.Exec(ctx, `SET LOCAL default_statistics_target = 10; ANALYZE import_rows`); err != nil {
		return nil, err
	}
	for _, step := range dedupSteps {
		var off []string
		var args []any
		if step.probe {
			off = []string{"enable_hashjoin", "enable_mergejoin"}
		} else {
			rows, ids, err := probe.wait(ctx, s, tx)
			if err != nil {
				return nil, err
			}
			args = []any{rows, ids}
		}
		if err := refuseStaged(ctx, tx, off, step.sql, args...); err != nil {
			return nil, err
		}
	}
	took("dedup against the database")
	if err := refuseStaged(ctx, tx, []string{"enable_mergejoin"}, dedupInFileSQL, s.cfg.DedupRadiusM, s.cfg.DedupSimilarity); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT r.row, r.col, r.reason, l.id, l.owner_id, l.pool_id, coalesce(r.of_row, 0) FROM import_refused r
LEFT JOIN merchant.leads l ON l.id = r.lead ORDER BY r.row`)
	if err != nil {
		return nil, err
	}
	type refusal struct {
		row, ofRow  int32
		col, reason string
		lead, owner uuid.NullUUID
		pool        uuid.NullUUID
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (refusal, error) {
		var x refusal
		return x, r.Scan(&x.row, &x.col, &x.reason, &x.lead, &x.owner, &x.pool, &x.ofRow)
	})
	if err != nil {
		return nil, err
	}
	out := make([]ImportProblem, 0, len(found))
	holders := map[uuid.UUID]Duplicate{} // by owner or pool: one lookup each
	q := merchantdb.New(tx)
	for _, f := range found {
		p := importProblem(int(f.row), f.col, ImportSimilarNameAs, "row", importRowNo(f.ofRow)) // within the file
		if f.lead.Valid {
			key := f.owner.UUID
			if !f.owner.Valid {
				key = f.pool.UUID
			}
			d, ok := holders[key]
			if !ok {
				d, err = s.describe(ctx, q, merchantdb.MerchantLead{ID: f.lead.UUID, OwnerID: f.owner, PoolID: f.pool.UUID})
				if err != nil {
					return nil, err
				}
				holders[key] = d
			}
			d.Reason = f.reason
			p = ImportProblem{Row: int(f.row), Column: f.col, Reason: errs.As(duplicateError(d)).Message, Code: ImportDuplicate,
				Params: map[string]string{"by": d.Reason, "held_by": d.HeldBy, "team": d.Team, "pool": d.Pool}}
		}
		out = append(out, p)
	}
	return out, nil
}

// insertStaged makes leads of the staged rows left, in the pool, with their first
// history entries, and returns their ids in the file's order. A row whose phone or
// licence a concurrent create took meanwhile is skipped (ON CONFLICT) and reported.
// One statement: the history rows are made from the ids the insert returns, and take
// the lead's id as theirs (each table's first row of a lead; time-ordered UUIDv7 ids
// append to the primary keys' last pages instead of writing all over them).
func insertStaged(ctx context.Context, tx pgx.Tx, pool merchantdb.MerchantPool, imp merchantdb.MerchantImport) ([]uuid.UUID, []ImportProblem, error) {
	now := imp.UpdatedAt
	into, imported := systemReason(ReasonImportedInto, "pool", pool.Name), systemReason(ReasonImported)
	var ids []uuid.UUID
	var gone []int32
	if err := tx.QueryRow(ctx, `WITH ins AS (
    INSERT INTO merchant.leads (id, name, category, address, lat, lng, phone_raw, phone, city, org_unit_id,
        stage, created_by, created_at, updated_at, pool_id, licence_no, level)
    SELECT id, name, category, address, lat, lng, phone_raw, phone, city, $1, 'lead', $2, $3, $3, $4, licence_no, level
    FROM import_rows ORDER BY row
    ON CONFLICT DO NOTHING
    RETURNING id
), owners AS (
    INSERT INTO merchant.lead_owner_history (id, lead_id, event, from_owner, to_owner, reason, reason_code, reason_params, by_user, at)
    SELECT id, id, 'created', NULL, NULL, $5, $6, $7, $2, $3 FROM ins
), stages AS (
    INSERT INTO merchant.stage_history (id, lead_id, from_stage, to_stage, reason, reason_code, by_user, at)
    SELECT id, id, NULL, 'lead', $8, $9, $2, $3 FROM ins
)
SELECT coalesce(array_agg(s.id ORDER BY s.row) FILTER (WHERE i.id IS NOT NULL), '{}'),
       coalesce(array_agg(s.row ORDER BY s.row) FILTER (WHERE i.id IS NULL), '{}')
FROM import_rows s LEFT JOIN ins i ON i.id = s.id`, pool.OrgUnitID, imp.ByUser, now, pool.ID, into.Text, string(into.Code), into.paramsJSON(),
		imported.Text, string(imported.Code)).Scan(&ids, &gone); err != nil {
		return nil, nil, err
	}
	var raced []ImportProblem
	for _, r := range gone {
		raced = append(raced, importProblem(int(r), "phone", ImportCreatedMeanwhile))
	}
	if len(gone) > 0 { // the staging table is now the leads made, for publishImported
		if _, err := tx.Exec(ctx, `DELETE FROM import_rows WHERE row = ANY($1)`, gone); err != nil {
			return nil, nil, err
		}
	}
	return ids, raced, nil
}
