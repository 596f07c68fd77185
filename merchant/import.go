package merchant

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Import (导入): a CSV or Excel file of shops into a pool. The first row names the
// columns (English or Chinese headers, or an explicit mapping); each row is validated
// like a create and deduplicated against the database and the rows before it in the
// file; the valid rows become leads of the pool, in batches, with progress kept on the
// import; the report lists every refused row with its column and reason. The same file
// into the same pool is one import: a re-upload answers the first one's report.

// Import limits.
const (
	MaxImportRows  = 100_000
	MaxImportBytes = 32 << 20
	importBatch    = 500
)

// importFields are the lead fields a column may fill, with the headers that name them.
var importFields = map[string][]string{
	"name": {"name", "店名", "门店名称", "名称"}, "phone": {"phone", "电话", "手机", "联系电话"},
	"category": {"category", "品类", "类目"}, "address": {"address", "地址"}, "city": {"city", "城市"},
	"lat": {"lat", "纬度"}, "lng": {"lng", "经度"}, "licence_no": {"licence_no", "统一社会信用代码", "信用代码"},
}

// ImportProblem is one refused row of the validation report (rows count from 1, the header being row 1).
type ImportProblem struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// ImportReport is an import as its reader sees it.
type ImportReport struct {
	ID        uuid.UUID       `json:"id"`
	PoolID    uuid.UUID       `json:"pool_id"`
	FileName  string          `json:"file_name"`
	State     string          `json:"state"` // running, done, failed
	TotalRows int             `json:"total_rows"`
	DoneRows  int             `json:"done_rows"`
	Imported  int             `json:"imported"`
	Problems  []ImportProblem `json:"problems"`
	Repeated  bool            `json:"repeated"` // this file was imported into this pool before
	CreatedAt time.Time       `json:"created_at"`
}

func importView(r merchantdb.MerchantImport) ImportReport {
	out := ImportReport{ID: r.ID, PoolID: r.PoolID, FileName: r.FileName, State: r.State, TotalRows: int(r.TotalRows),
		DoneRows: int(r.DoneRows), Imported: int(r.Imported), CreatedAt: r.CreatedAt.UTC()}
	_ = json.Unmarshal(r.Problems, &out.Problems)
	if out.Problems == nil {
		out.Problems = []ImportProblem{}
	}
	return out
}

// ImportLeads imports a file (name ends .csv or .xlsx) into poolID, or the caller's own
// unit's pool when uuid.Nil. Importing into another pool needs its admin rights.
func (s *Service) ImportLeads(ctx context.Context, p *identity.Principal, poolID uuid.UUID, fileName string, file io.Reader) (ImportReport, error) {
	if err := principal(p); err != nil {
		return ImportReport{}, err
	}
	if _, err := p.Require(identity.PermLeadWrite); err != nil {
		return ImportReport{}, err
	}
	data, err := io.ReadAll(io.LimitReader(file, MaxImportBytes+1))
	if err != nil {
		return ImportReport{}, fmt.Errorf("merchant: import: %w", err)
	}
	if len(data) > MaxImportBytes {
		return ImportReport{}, errs.E(errs.KindTooLarge, "merchant.import_too_large", "a file is at most 32 MiB").WithField("file")
	}
	rows, err := readSheet(fileName, data)
	if err != nil {
		return ImportReport{}, err
	}
	q := merchantdb.New(s.db)
	var pool merchantdb.MerchantPool
	if poolID == uuid.Nil {
		pool, err = s.ensurePool(ctx, q, p.User.OrgUnitID, p.User.ID)
	} else {
		pool, err = adminPool(ctx, q, p, poolID)
	}
	if err != nil {
		return ImportReport{}, fmt.Errorf("merchant: import: %w", pg.Classify(err))
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	now := s.now()
	imp, err := q.InsertImport(ctx, merchantdb.InsertImportParams{ID: newID(), PoolID: pool.ID, Sha256: digest, FileName: fileName, ByUser: p.User.ID, CreatedAt: now})
	if errors.Is(err, pgx.ErrNoRows) {
		prev, gerr := q.GetImportByFile(ctx, merchantdb.GetImportByFileParams{PoolID: pool.ID, Sha256: digest})
		if gerr != nil {
			return ImportReport{}, fmt.Errorf("merchant: import: %w", pg.Classify(gerr))
		}
		out := importView(prev)
		out.Repeated = true
		return out, nil
	}
	if err != nil {
		return ImportReport{}, fmt.Errorf("merchant: import: %w", pg.Classify(err))
	}
	report, err := s.runImport(ctx, p, pool, imp.ID, rows)
	state := "done"
	if err != nil {
		state = "failed"
	}
	problems, _ := json.Marshal(report.Problems)
	if ferr := q.FinishImport(context.WithoutCancel(ctx), merchantdb.FinishImportParams{ID: imp.ID, State: state, TotalRows: int32(report.TotalRows),
		Imported: int32(report.Imported), Problems: problems, UpdatedAt: s.now()}); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		return ImportReport{}, fmt.Errorf("merchant: import: %w", pg.Classify(err))
	}
	if err := s.inTx(ctx, func(tx pgx.Tx, _ *merchantdb.Queries) error {
		return record(ctx, tx, p, "merchant.lead.import", "merchant.import", imp.ID, nil,
			map[string]any{"pool_id": pool.ID, "file": fileName, "imported": report.Imported, "refused": len(report.Problems)})
	}); err != nil {
		return ImportReport{}, fmt.Errorf("merchant: import audit: %w", pg.Classify(err))
	}
	return s.GetImport(ctx, p, imp.ID)
}

// readSheet returns a file's rows: CSV (UTF-8, with or without a BOM) or the first sheet of an xlsx.
func readSheet(name string, data []byte) ([][]string, error) {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".csv"):
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
		r.FieldsPerRecord = -1
		rows, err := r.ReadAll()
		if err != nil {
			return nil, errs.Invalidf("file", "not a CSV file: %v", err)
		}
		return rows, nil
	case strings.HasSuffix(lower, ".xlsx"):
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			return nil, errs.Invalidf("file", "not an Excel (.xlsx) file")
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			return nil, errs.Invalidf("file", "the workbook has no sheet")
		}
		rows, err := f.GetRows(sheets[0])
		if err != nil {
			return nil, errs.Invalidf("file", "the first sheet cannot be read")
		}
		return rows, nil
	}
	return nil, errs.Invalidf("file", "upload a .csv or .xlsx file")
}

// runImport validates, deduplicates and inserts the rows, keeping progress on the import.
func (s *Service) runImport(ctx context.Context, p *identity.Principal, pool merchantdb.MerchantPool, importID uuid.UUID, rows [][]string) (ImportReport, error) {
	rep := ImportReport{Problems: []ImportProblem{}}
	if len(rows) < 2 {
		rep.Problems = append(rep.Problems, ImportProblem{Row: 1, Column: "", Reason: "the file has no rows under its header"})
		return rep, nil
	}
	cols := map[string]int{}
	for i, h := range rows[0] {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		for field, names := range importFields {
			for _, n := range names {
				if h == n {
					cols[field] = i
				}
			}
		}
	}
	for _, need := range []string{"name", "phone", "category", "city"} {
		if _, ok := cols[need]; !ok {
			rep.Problems = append(rep.Problems, ImportProblem{Row: 1, Column: need, Reason: "no column for " + need})
		}
	}
	if len(rep.Problems) > 0 {
		return rep, nil
	}
	body := rows[1:]
	if len(body) > MaxImportRows {
		return rep, errs.Invalidf("file", "at most %d rows a file", MaxImportRows)
	}
	rep.TotalRows = len(body)
	cell := func(r []string, field string) string {
		if i, ok := cols[field]; ok && i < len(r) {
			return strings.TrimSpace(r[i])
		}
		return ""
	}
	seenPhone, seenLicence := map[string]int{}, map[string]int{}
	type valid struct {
		in    NewLead
		phone string
		lic   *string
	}
	var batch []valid
	flush := func(done int) error {
		err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
			now := s.now()
			for _, v := range batch {
				id := newID()
				if err := q.InsertLeadInPool(ctx, merchantdb.InsertLeadInPoolParams{ID: id, Name: v.in.Name, Category: v.in.Category,
					Address: v.in.Address, Lat: v.in.Lat, Lng: v.in.Lng, PhoneRaw: v.in.Phone, Phone: v.phone, City: v.in.City,
					OrgUnitID: pool.OrgUnitID, Stage: string(StageLead), CreatedBy: p.User.ID, CreatedAt: now, PoolID: pool.ID}); err != nil {
					return err
				}
				if v.lic != nil {
					if err := q.SetLicence(ctx, merchantdb.SetLicenceParams{ID: id, LicenceNo: v.lic}); err != nil {
						return err
					}
				}
				if err := ownerChange(ctx, q, id, EventCreated, uuid.Nil, uuid.Nil, "imported into "+pool.Name, p.User.ID, now); err != nil {
					return err
				}
				if err := q.InsertStageHistory(ctx, merchantdb.InsertStageHistoryParams{ID: newID(), LeadID: id, ToStage: string(StageLead),
					Reason: "imported", ByUser: p.User.ID, At: now}); err != nil {
					return err
				}
			}
			rep.Imported += len(batch)
			return q.ImportProgress(ctx, merchantdb.ImportProgressParams{ID: importID, TotalRows: int32(rep.TotalRows), DoneRows: int32(done),
				Imported: int32(rep.Imported), UpdatedAt: now})
		})
		batch = batch[:0]
		return err
	}
	for i, r := range body {
		row := i + 2
		in := NewLead{Name: cell(r, "name"), Category: cell(r, "category"), Address: cell(r, "address"), Phone: cell(r, "phone"),
			City: cell(r, "city"), LicenceNo: cell(r, "licence_no")}
		bad := func(col string, err error) {
			reason := err.Error()
			if e := errs.As(err); e != nil {
				reason = e.Message
			}
			rep.Problems = append(rep.Problems, ImportProblem{Row: row, Column: col, Reason: reason})
		}
		var perr error
		for _, f := range []struct {
			name string
			dst  *float64
		}{{"lat", &in.Lat}, {"lng", &in.Lng}} {
			if v := cell(r, f.name); v != "" {
				if *f.dst, perr = strconv.ParseFloat(v, 64); perr != nil {
					bad(f.name, errors.New("not a number"))
					break
				}
			}
		}
		if perr != nil {
			continue
		}
		if err := in.validate(); err != nil {
			bad(errs.As(err).Field, err)
			continue
		}
		phone, err := normalizePhone(in.Phone)
		if err != nil {
			bad("phone", err)
			continue
		}
		var lic *string
		if in.LicenceNo != "" {
			l, err := NormalizeLicence(in.LicenceNo)
			if err != nil {
				bad("licence_no", err)
				continue
			}
			lic = &l
		}
		if first, ok := seenPhone[phone]; ok {
			bad("phone", fmt.Errorf("the same phone as row %d", first))
			continue
		}
		if lic != nil {
			if first, ok := seenLicence[*lic]; ok {
				bad("licence_no", fmt.Errorf("the same licence number as row %d", first))
				continue
			}
		}
		dups, err := s.findDuplicates(ctx, s.db, candidate{phone: phone, licence: deref(lic), name: in.Name, lat: in.Lat, lng: in.Lng})
		if err != nil {
			return rep, err
		}
		if len(dups) > 0 {
			col := dups[0].Reason
			if col == DupNearby {
				col = "name"
			}
			bad(col, errs.As(duplicateError(dups[0])))
			continue
		}
		seenPhone[phone] = row
		if lic != nil {
			seenLicence[*lic] = row
		}
		batch = append(batch, valid{in: in, phone: phone, lic: lic})
		if len(batch) == importBatch {
			if err := flush(i + 1); err != nil {
				return rep, err
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(len(body)); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// GetImport returns an import of a pool the caller may read, with its progress and report.
func (s *Service) GetImport(ctx context.Context, p *identity.Principal, id uuid.UUID) (ImportReport, error) {
	if err := principal(p); err != nil {
		return ImportReport{}, err
	}
	if _, err := p.Require(identity.PermLeadRead); err != nil {
		return ImportReport{}, err
	}
	q := merchantdb.New(s.db)
	imp, err := q.GetImport(ctx, id)
	if err != nil {
		return ImportReport{}, notFound(err, "merchant.import")
	}
	if _, _, err := readablePool(ctx, q, p, imp.PoolID); err != nil {
		return ImportReport{}, errs.NotFound("merchant.import")
	}
	return importView(imp), nil
}
