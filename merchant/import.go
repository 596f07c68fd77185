package merchant

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Import (导入): a CSV or Excel file of shops into a pool. The first row names the
// columns (English or Chinese headers); each row is validated like a create; the valid
// rows are copied (COPY) into a staging table and deduplicated there in a few
// set-based statements: within the file and against the database (phone, licence, a
// similar name nearby), then inserted at once, with their history, and routed by
// the assignment rules when asked. The report lists every refused row with its
// column and reason. A small file is imported while the uploader waits; a
// larger one is queued and run by the worker (task merchant:imports), its progress
// shown on the imports page. The same file into the same pool is one import: a
// re-upload answers the first one's report and imports nothing (after a failed
// import, the file may be uploaded again).

// Import limits.
const (
	MaxImportRows  = 100_000
	MaxImportBytes = 32 << 20
	// InlineImportBytes: a file up to this size is imported during the upload.
	InlineImportBytes = 256 << 10
	// importStale: a running import whose progress has not moved for this long is
	// taken up again by the next run of the task (its runner died; its transaction
	// rolled back).
	importStale = 15 * time.Minute
	// importProgressEvery rows, the progress is written for the imports page.
	importProgressEvery = 10_000
)

// Import states.
const (
	ImportQueued  = "queued"
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// importFields are the lead fields a column may fill, with the headers that name them.
var importFields = map[string][]string{
	"name": {"name", "店名", "门店名称", "名称"}, "phone": {"phone", "电话", "手机", "联系电话"},
	"category": {"category", "品类", "类目"}, "address": {"address", "地址"}, "city": {"city", "城市"},
	"lat": {"lat", "纬度"}, "lng": {"lng", "经度"}, "licence_no": {"licence_no", "统一社会信用代码", "信用代码"},
	"level": {"level", "等级", "级别"},
}

// ImportProblem is one refused row of the validation report (rows count from 1, the header being row 1).
type ImportProblem struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	// Reason is in English, or in the caller's language when the API's caller sends
	// Accept-Language; Code and Params say it for a program (import_reasons.go).
	// Reports made before the codes have none.
	Reason string            `json:"reason"`
	Code   ImportReasonCode  `json:"code,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

// ImportReport is an import as its reader sees it.
type ImportReport struct {
	ID        uuid.UUID       `json:"id"`
	PoolID    uuid.UUID       `json:"pool_id"`
	FileName  string          `json:"file_name"`
	State     string          `json:"state"` // queued, running, done, failed
	ByRules   bool            `json:"by_rules"`
	TotalRows int             `json:"total_rows"`
	DoneRows  int             `json:"done_rows"` // rows read so far
	Imported  int             `json:"imported"`
	Assigned  int             `json:"assigned"` // of the imported, given to a rep by the assignment rules
	Problems  []ImportProblem `json:"problems"`
	Error     string          `json:"error,omitempty"` // why a failed import failed
	Repeated  bool            `json:"repeated"`        // this file was imported into this pool before
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func importView(r merchantdb.MerchantImport, withProblems bool) ImportReport {
	out := ImportReport{ID: r.ID, PoolID: r.PoolID, FileName: r.FileName, State: r.State, ByRules: r.ByRules, TotalRows: int(r.TotalRows),
		DoneRows: int(r.DoneRows), Imported: int(r.Imported), Assigned: int(r.Assigned), Error: r.Error,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Problems: []ImportProblem{}}
	if withProblems {
		_ = json.Unmarshal(r.Problems, &out.Problems)
	}
	return out
}

// ImportInput is an upload.
type ImportInput struct {
	PoolID   uuid.UUID // uuid.Nil: the caller's own unit's pool
	FileName string    // ends .csv or .xlsx
	ByRules  bool      // route the new leads by the assignment rules of the pool's unit
}

// ImportLeads takes a file for a pool: imported now when small, else queued for the
// worker (State "queued"). Importing into another pool than one's own needs its admin
// rights.
func (s *Service) ImportLeads(ctx context.Context, p *identity.Principal, in ImportInput, file io.Reader) (ImportReport, error) {
	if err := principal(p); err != nil {
		return ImportReport{}, err
	}
	if _, err := p.Require(identity.PermLeadWrite); err != nil {
		return ImportReport{}, err
	}
	lower := strings.ToLower(in.FileName)
	if !strings.HasSuffix(lower, ".csv") && !strings.HasSuffix(lower, ".xlsx") {
		return ImportReport{}, errs.Invalidf("file", "upload a .csv or .xlsx file")
	}
	data, err := io.ReadAll(io.LimitReader(file, MaxImportBytes+1))
	if err != nil {
		return ImportReport{}, fmt.Errorf("merchant: import: %w", err)
	}
	if len(data) > MaxImportBytes {
		return ImportReport{}, errs.E(errs.KindTooLarge, "merchant.import_too_large", "a file is at most 32 MiB").WithField("file")
	}
	if in.ByRules && !p.Can(identity.PermLeadAssign) {
		return ImportReport{}, errs.E(errs.KindForbidden, "identity.forbidden", "only managers (merchant.lead.assign) route an import by the rules")
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	var imp merchantdb.MerchantImport
	repeated := false
	err = s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		var pool merchantdb.MerchantPool
		var err error
		if in.PoolID == uuid.Nil {
			pool, err = s.ensurePool(ctx, q, p.User.OrgUnitID, p.User.ID)
		} else {
			pool, err = adminPool(ctx, q, p, in.PoolID)
		}
		if err != nil {
			return err
		}
		imp, err = q.InsertImport(ctx, merchantdb.InsertImportParams{ID: newID(), PoolID: pool.ID, Sha256: digest, FileName: in.FileName,
			ByUser: p.User.ID, ByRules: in.ByRules, CreatedAt: s.now()})
		if errors.Is(err, pgx.ErrNoRows) {
			repeated = true
			imp, err = q.GetImportByFile(ctx, merchantdb.GetImportByFileParams{PoolID: pool.ID, Sha256: digest})
			return err
		}
		if err != nil {
			return err
		}
		if err := q.PutImportFile(ctx, merchantdb.PutImportFileParams{ImportID: imp.ID, Data: data}); err != nil {
			return err
		}
		if len(data) > InlineImportBytes {
			if _, err := outbox.Publish(ctx, tx, TopicImportQueued, imp.ID.String(), ImportQueuedEvent{ImportID: imp.ID}); err != nil {
				return err
			}
		}
		return record(ctx, tx, p, "merchant.lead.import", "merchant.import", imp.ID, nil,
			map[string]any{"pool_id": pool.ID, "file": in.FileName, "sha256": digest, "by_rules": in.ByRules})
	})
	if err != nil {
		return ImportReport{}, fmt.Errorf("merchant: import: %w", pg.Classify(err))
	}
	if repeated {
		out := importView(imp, true)
		out.Repeated = true
		return out, nil
	}
	if len(data) <= InlineImportBytes {
		if _, err := s.runImport(ctx, imp.ID); err != nil {
			return ImportReport{}, err
		}
	}
	return s.GetImport(ctx, p, imp.ID)
}

// TopicImportQueued: a file too large to import inline was queued. Merchant itself
// subscribes: the outbox is how a domain hands work to its worker, committed with the
// upload, so a queued import is run at once and never lost with Redis's data.
const TopicImportQueued events.Topic = "merchant.import_queued"

// ImportQueuedEvent is TopicImportQueued's payload.
type ImportQueuedEvent struct {
	ImportID uuid.UUID `json:"import_id"`
}

func (s *Service) importSubscription() outbox.Subscription {
	return outbox.Subscription{Topic: TopicImportQueued, Subscriber: "merchant.imports", Handle: func(ctx context.Context, e events.Envelope) error {
		var q ImportQueuedEvent
		if err := e.Decode(&q); err != nil {
			return fmt.Errorf("merchant: decode %s: %w", e.Topic, err)
		}
		_, err := s.runImport(ctx, q.ImportID)
		return err
	}}
}

// TaskImports takes up imports whose runner died (and any queued import whose event
// was somehow not delivered); queued imports are started by TopicImportQueued.
const TaskImports = "merchant:imports"

func (s *Service) importTask() domain.Task {
	return domain.Task{Type: TaskImports, Cron: "@every 1m", Unique: time.Minute, Queue: "low",
		Help: "take up lead imports whose runner died (queued ones start at once through merchant.import_queued)",
		Handle: func(ctx context.Context, _ []byte) error {
			_, err := s.RunImports(ctx)
			return err
		}}
}

// RunImports runs the queued imports one after another until none is left, and
// returns how many it ran. Any number of workers may run it: each import is taken by one.
func (s *Service) RunImports(ctx context.Context) (int, error) {
	n := 0
	for {
		ran, err := s.runImport(ctx, uuid.Nil)
		if err != nil || !ran {
			return n, err
		}
		n++
	}
}

// runImport takes one import (id, or the next queued when uuid.Nil) and runs it to
// done or failed; false when there was none to take.
func (s *Service) runImport(ctx context.Context, id uuid.UUID) (bool, error) {
	q := merchantdb.New(s.db)
	now := s.now()
	imp, err := q.StartImport(ctx, merchantdb.StartImportParams{ID: nullUUID(id), At: now, StaleBefore: now.Add(-importStale)})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("merchant: import: %w", pg.Classify(err))
	}
	if err := s.importFile(ctx, imp); errors.Is(err, errImportBusy) {
		return false, nil
	} else if err != nil {
		reason := "the import failed; upload the file again"
		if e := errs.As(err); e != nil && e.Kind != errs.KindInternal {
			reason = e.Message
		} else {
			s.log.ErrorContext(ctx, "merchant import failed", "import", imp.ID, "err", err)
		}
		ctx := context.WithoutCancel(ctx)
		if ferr := q.FinishImport(ctx, merchantdb.FinishImportParams{ID: imp.ID, State: ImportFailed, Problems: []byte("[]"),
			Error: reason, UpdatedAt: s.now()}); ferr != nil {
			return true, fmt.Errorf("merchant: import: %w", pg.Classify(ferr))
		}
		if derr := q.DeleteImportFile(ctx, imp.ID); derr != nil {
			return true, fmt.Errorf("merchant: import: %w", pg.Classify(derr))
		}
	}
	return true, nil
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
	return importView(imp, true), nil
}

// ListImports lists the latest imports into the pools the caller may read (without
// their reports).
func (s *Service) ListImports(ctx context.Context, p *identity.Principal) ([]ImportReport, error) {
	pools, err := s.ListPools(ctx, p)
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(pools))
	for i, pl := range pools {
		ids[i] = pl.ID
	}
	rows, err := merchantdb.New(s.db).ListImports(ctx, merchantdb.ListImportsParams{PoolIds: ids, MaxRows: 100})
	if err != nil {
		return nil, fmt.Errorf("merchant: imports: %w", pg.Classify(err))
	}
	out := make([]ImportReport, len(rows))
	for i, r := range rows {
		out[i] = importView(r, false)
	}
	return out, nil
}

// sortProblems orders a report by row, then column.
func sortProblems(ps []ImportProblem) {
	slices.SortStableFunc(ps, func(a, b ImportProblem) int {
		if a.Row != b.Row {
			return a.Row - b.Row
		}
		return strings.Compare(a.Column, b.Column)
	})
}

// trimBOM drops a UTF-8 byte order mark (Excel writes one before a CSV).
func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\ufeff")) }
