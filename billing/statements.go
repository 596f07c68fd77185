package billing

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

const objStatement = "billing.statement"

// Error codes of settlement.
const (
	CodeStatementNotFound = objStatement + "_not_found"
	CodeInvalidPeriod     = "billing.invalid_period"
	CodeStatementPaid     = "billing.statement_paid"
	CodePeriodOpen        = "billing.period_open"
)

// Settlement cycles of a merchant's contract.
const (
	CycleT1      = "T+1"
	CycleT7      = "T+7"
	CycleMonthly = "monthly"
)

// Statement is what a merchant is owed for one period of its cycle, from the ledger:
// net = gross − refunds − commission − fees + adjustments. Issued is false for a
// preview (computed now, not kept); an issued statement never changes.
type Statement struct {
	ID            uuid.UUID  `json:"id,omitempty"`
	MerchantID    uuid.UUID  `json:"merchant_id"`
	Cycle         string     `json:"cycle"`
	Period        string     `json:"period"`       // 2025-03-14, or 2025-03 for monthly
	PeriodStart   string     `json:"period_start"` // inclusive, Asia/Shanghai
	PeriodEnd     string     `json:"period_end"`   // exclusive
	PayableOn     string     `json:"payable_on"`
	GrossFen      int64      `json:"gross_fen"`
	RefundsFen    int64      `json:"refunds_fen"`
	CommissionFen int64      `json:"commission_fen"`
	FeesFen       int64      `json:"fees_fen"`
	AdjustmentFen int64      `json:"adjustments_fen"`
	NetFen        int64      `json:"net_fen"`
	Payments      int        `json:"payments"`
	Refunds       int        `json:"refunds"`
	Issued        bool       `json:"issued"`
	IssuedAt      *time.Time `json:"issued_at,omitempty"`
	PaidAt        *time.Time `json:"paid_at,omitempty"`
	PayoutRef     string     `json:"payout_ref,omitempty"`
}

// period reads a cycle's period: a day (yyyy-MM-dd) for T+1 and T+7, a month
// (yyyy-MM) for monthly; it returns its Shanghai bounds and the day it is payable.
func period(cycle, p string) (from, to, payable time.Time, err error) {
	bad := errs.E(errs.KindInvalid, CodeInvalidPeriod, "the period is yyyy-MM-dd for T+1 and T+7, yyyy-MM for monthly").WithField("period")
	switch cycle {
	case CycleT1, CycleT7:
		if from, err = time.ParseInLocation("2006-01-02", p, shanghai); err != nil {
			return from, to, payable, bad
		}
		to = from.AddDate(0, 0, 1)
		payable = from.AddDate(0, 0, map[string]int{CycleT1: 1, CycleT7: 7}[cycle])
	case CycleMonthly:
		if from, err = time.ParseInLocation("2006-01", p, shanghai); err != nil {
			return from, to, payable, bad
		}
		to = from.AddDate(0, 1, 0)
		payable = to
	default:
		return from, to, payable, errs.E(errs.KindInvalid, CodeInvalidPeriod, "the cycle is T+1, T+7 or monthly").WithField("cycle")
	}
	return from, to, payable, nil
}

func date(t time.Time) pgtype.Date {
	return pgtype.Date{Time: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), Valid: true}
}

// statementScope checks that p may read merchant's statements: finance all,
// a merchant's owner their own; out of scope is not found.
func statementScope(p *identity.Principal, merchant uuid.UUID) (identity.Scope, error) {
	sc, err := staffScope(p, identity.PermSettlementRead)
	if err != nil {
		return sc, err
	}
	if !sc.Allows(identity.Row{Merchant: merchant}) {
		return sc, errs.NotFound(objStatement)
	}
	return sc, nil
}

// cycleOf is the cycle asked for, or the merchant's contract's.
func (s *Service) cycleOf(ctx context.Context, merchant uuid.UUID, cycle string) (string, error) {
	if cycle != "" {
		return cycle, nil
	}
	t, err := s.ports.Merchants.Terms(ctx, merchant)
	if err != nil {
		return "", err
	}
	if t.SettlementCycle == "" {
		return CycleT1, nil
	}
	return t.SettlementCycle, nil
}

// MerchantStatement is the merchant's statement of a period: the issued one, or a
// preview from the ledger as it stands. Statements come from recorded times (a
// payment by WeChat's success time, a refund by when it succeeded, each fee with
// its payment or refund), so any past period comes out the same again.
func (s *Service) MerchantStatement(ctx context.Context, p *identity.Principal, merchant uuid.UUID, cycle, per string) (Statement, error) {
	if _, err := statementScope(p, merchant); err != nil {
		return Statement{}, err
	}
	cycle, err := s.cycleOf(ctx, merchant, cycle)
	if err != nil {
		return Statement{}, err
	}
	from, to, payable, err := period(cycle, per)
	if err != nil {
		return Statement{}, err
	}
	q := billingdb.New(s.db)
	row, err := q.GetStatementOf(ctx, billingdb.GetStatementOfParams{MerchantID: merchant, Cycle: cycle, PeriodStart: date(from)})
	if err == nil {
		return statementOf(row, per), nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return Statement{}, wrap("statement", err)
	}
	f, err := merchantFigures(ctx, q, merchant, from, to, farFuture)
	if err != nil {
		return Statement{}, wrap("statement", err)
	}
	return previewOf(merchant, cycle, per, from, to, payable, f), nil
}

// figures are a statement's sums: the ledger's, and the adjustments of the period.
type figures struct {
	GrossFen, RefundsFen, CommissionFen, FeesFen, LedgerNetFen int64
	Payments, Refunds                                          int32
	AdjustmentsFen                                             int64
}

func figuresOf(r billingdb.PeriodFiguresRow) figures {
	return figures{GrossFen: r.GrossFen, RefundsFen: r.RefundsFen, CommissionFen: r.CommissionFen, FeesFen: r.FeesFen,
		LedgerNetFen: r.LedgerNetFen, Payments: r.Payments, Refunds: r.Refunds, AdjustmentsFen: r.AdjustmentsFen}
}

// merchantFigures are one merchant's figures of the period [from, to) as booked by
// asOf, from the query that sums every merchant's (Settlement.Settle): all zero when it
// has neither an entry nor an adjustment in the period.
func merchantFigures(ctx context.Context, q *billingdb.Queries, merchant uuid.UUID, from, to, asOf time.Time) (figures, error) {
	rows, err := q.PeriodFigures(ctx, billingdb.PeriodFiguresParams{MerchantID: uuid.NullUUID{UUID: merchant, Valid: true},
		FromAt: from, ToAt: to, AsOf: asOf})
	if err != nil || len(rows) == 0 {
		return figures{}, err
	}
	return figuresOf(rows[0]), nil
}

// previewOf is the statement the figures make, not issued: net is what the ledger
// owes the merchant plus the adjustments (never rounded again: the postings are fen).
func previewOf(merchant uuid.UUID, cycle, per string, from, to, payable time.Time, f figures) Statement {
	return Statement{MerchantID: merchant, Cycle: cycle, Period: per, PeriodStart: from.Format(time.DateOnly),
		PeriodEnd: to.Format(time.DateOnly), PayableOn: payable.Format(time.DateOnly), GrossFen: f.GrossFen,
		RefundsFen: f.RefundsFen, CommissionFen: f.CommissionFen, FeesFen: f.FeesFen, AdjustmentFen: f.AdjustmentsFen,
		NetFen: f.LedgerNetFen + f.AdjustmentsFen, Payments: int(f.Payments), Refunds: int(f.Refunds)}
}

func statementOf(r billingdb.BillingStatement, per string) Statement {
	return Statement{ID: r.ID, MerchantID: r.MerchantID, Cycle: r.Cycle, Period: per,
		PeriodStart: r.PeriodStart.Time.Format(time.DateOnly), PeriodEnd: r.PeriodEnd.Time.Format(time.DateOnly),
		PayableOn: r.PayableOn.Time.Format(time.DateOnly), GrossFen: r.GrossFen, RefundsFen: r.RefundsFen,
		CommissionFen: r.CommissionFen, FeesFen: r.FeesFen, AdjustmentFen: r.AdjustmentsFen, NetFen: r.NetFen,
		Payments: int(r.Payments), Refunds: int(r.Refunds), Issued: true, IssuedAt: &r.IssuedAt, PaidAt: r.PaidAt,
		PayoutRef: r.PayoutRef}
}

// IssueStatement issues the merchant's statement of a period (finance: billing
// settlement read at scope all), audited. Issuing again returns the statement issued
// first: an issued statement never changes.
func (s *Service) IssueStatement(ctx context.Context, p *identity.Principal, merchant uuid.UUID, cycle, per string) (Statement, error) {
	if err := financeOnly(p); err != nil {
		return Statement{}, err
	}
	st, err := s.MerchantStatement(ctx, p, merchant, cycle, per)
	if err != nil || st.Issued {
		return st, err
	}
	from, to, payable, _ := period(st.Cycle, per)
	// The statement is what was booked until the moment it is issued: its lines are
	// traced back as of the same moment (StatementLines).
	now := s.now().Truncate(time.Microsecond) // as PostgreSQL keeps it
	f, err := merchantFigures(ctx, billingdb.New(s.db), merchant, from, to, now)
	if err != nil {
		return Statement{}, wrap("issue statement", err)
	}
	st = previewOf(merchant, st.Cycle, per, from, to, payable, f)
	if now.Before(to) {
		return Statement{}, errs.E(errs.KindConflict, CodePeriodOpen,
			"the period ends on "+to.Format(time.DateOnly)+": a statement is issued once its period is over").WithField("period")
	}
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := billingdb.New(tx)
		id := s.newID()
		if err := q.InsertStatement(ctx, billingdb.InsertStatementParams{ID: id, MerchantID: merchant, Cycle: st.Cycle,
			PeriodStart: date(from), PeriodEnd: date(to), PayableOn: date(payable), GrossFen: st.GrossFen, RefundsFen: st.RefundsFen,
			CommissionFen: st.CommissionFen, FeesFen: st.FeesFen, AdjustmentsFen: st.AdjustmentFen, NetFen: st.NetFen, Payments: int32(st.Payments),
			Refunds: int32(st.Refunds), IssuedAt: now, IssuedBy: uuid.NullUUID{UUID: p.User.ID, Valid: p.User.ID != uuid.Nil}}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "billing.statement.issue", ObjectType: objStatement,
			ObjectID: id.String(), After: st})
	})
	if err != nil {
		return Statement{}, wrap("issue statement", err)
	}
	return s.MerchantStatement(ctx, p, merchant, st.Cycle, per)
}

// MarkStatementPaid records the payout of an issued statement with the bank's
// reference (finance), once, audited.
func (s *Service) MarkStatementPaid(ctx context.Context, p *identity.Principal, id uuid.UUID, ref string) (Statement, error) {
	if err := financeOnly(p); err != nil {
		return Statement{}, err
	}
	ref = strings.TrimSpace(ref)
	if ref == "" || len([]rune(ref)) > 100 {
		return Statement{}, errs.Invalidf("reference", "the payout's reference, 1 to 100 characters")
	}
	var row billingdb.BillingStatement
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := billingdb.New(tx)
		var err error
		if row, err = q.LockStatement(ctx, id); errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound(objStatement)
		} else if err != nil {
			return err
		}
		if row.PaidAt != nil {
			return errs.E(errs.KindConflict, CodeStatementPaid, "the statement was paid with reference "+row.PayoutRef)
		}
		now := s.now()
		if err := q.MarkStatementPaid(ctx, billingdb.MarkStatementPaidParams{ID: id, PaidAt: &now,
			PaidBy: uuid.NullUUID{UUID: p.User.ID, Valid: p.User.ID != uuid.Nil}, PayoutRef: ref}); err != nil {
			return err
		}
		row.PaidAt, row.PayoutRef = &now, ref
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "billing.statement.paid", ObjectType: objStatement,
			ObjectID: id.String(), After: map[string]any{"payout_ref": ref, "net_fen": row.NetFen}})
	})
	if err != nil {
		return Statement{}, wrap("mark paid", err)
	}
	return statementOf(row, periodName(row)), nil
}

// periodName is how a statement's period is written: its day, or its month.
func periodName(r billingdb.BillingStatement) string {
	if r.Cycle == CycleMonthly {
		return r.PeriodStart.Time.Format("2006-01")
	}
	return r.PeriodStart.Time.Format(time.DateOnly)
}

func financeOnly(p *identity.Principal) error {
	sc, err := staffScope(p, identity.PermSettlementRead)
	if err != nil {
		return err
	}
	if !sc.SeesAll() {
		return errs.E(errs.KindForbidden, "identity.forbidden", "issuing and paying statements is finance's")
	}
	return nil
}
