// Package reconciliation matches WeChat Pay's daily trade bill line by line
// against our own payments and refunds (ARCHITECTURE.md, product §5, 对账), classifies every
// difference, repairs what is safe to repair, and keeps a run report and a queue of
// exceptions in schema recon.
//
// The engine is a streaming hash join (match.go): our records of the business day
// are loaded into a compact in-memory index, the bill is parsed and classified one
// line at a time, and the records no line claimed are swept up at the end. Nothing
// is queried per line; only the run summary and the exceptions are written, with
// COPY, in one transaction that replaces the date's previous run (run.go).
//
// Our side comes through LedgerSource, declared here and implemented by billing
// (one streaming SQL query) and, for uploaded files and benchmarks, by CSVLedger.
// Repairs of lines WeChat has and we lack go through Repairer, also implemented by
// billing.
package reconciliation

import (
	"embed"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is schema recon. It references no other schema.
var Migrations = pg.EmbeddedMigrations("recon", migrationFiles, "migrations")

// Error codes of this package (shared/errs).
const (
	CodeInvalidDate       = "recon.invalid_date"
	CodeBillUnreadable    = "recon.bill_unreadable"
	CodeLedgerUnreadable  = "recon.ledger_unreadable"
	CodeLedgerUnavailable = "recon.ledger_unavailable"
	CodeWxpayUnavailable  = "recon.wxpay_unavailable"
	CodeRunNotFound       = "recon.run"
)

// Kind is what a line or record is about.
type Kind uint8

const (
	KindPay    Kind = iota + 1 // a payment
	KindRefund                 // a refund
)

func (k Kind) String() string {
	switch k {
	case KindPay:
		return "PAY"
	case KindRefund:
		return "REFUND"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind reads "PAY" or "REFUND".
func ParseKind(s string) (Kind, bool) {
	switch s {
	case "PAY":
		return KindPay, true
	case "REFUND":
		return KindRefund, true
	}
	return 0, false
}

// Class is the outcome of matching one item (a bill line, our record, or both).
type Class uint8

const (
	ClassMatched        Class = iota // same item on both sides, same status and amount
	ClassMissingOurs                 // WeChat has it, we do not (usually a lost notification)
	ClassMissingWeChat               // we have it, WeChat does not
	ClassAmountMismatch              // both have it, amounts differ
	ClassStatusMismatch              // both have it, statuses differ
	ClassDuplicate                   // the same transaction or refund twice in the bill, or twice in ours
	ClassOutsideWindow               // at the edge of (or outside) the day's window: carried to the next date's run
	NumClasses
)

var classNames = [NumClasses]string{"matched", "missing_ours", "missing_wechat", "amount_mismatch",
	"status_mismatch", "duplicate", "outside_window"}

func (c Class) String() string {
	if c < NumClasses {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// ParseClass reads a class name.
func ParseClass(s string) (Class, bool) {
	for i, n := range classNames {
		if n == s {
			return Class(i), true
		}
	}
	return 0, false
}

// Source is where a run's bill came from.
type Source string

const (
	SourceDownloaded Source = "downloaded" // from WeChat Pay's API, hash verified
	SourceFile       Source = "file"       // an uploaded or local file
	SourceNoBill     Source = "no_bill"    // WeChat has no bill for the day (NO_STATEMENT_EXIST): our side alone
)

// RunState summarises a run.
type RunState string

const (
	// StateBalanced: every line and record matched, or is carried to the next date.
	StateBalanced RunState = "balanced"
	// StateUnbalanced: there are exceptions for finance to work.
	StateUnbalanced RunState = "unbalanced"
	// StateIncomplete: the bill had malformed lines or a summary that does not add
	// up; what could be read was reconciled, the problems say what could not.
	StateIncomplete RunState = "incomplete"
)

// ClassStats are the figures of one class. The bill's side counts only the lines of
// this run's bill (not lines carried in from the previous date), so the sums over
// all classes equal the parser's totals of the bill.
type ClassStats struct {
	Items              int64 // items of this class: bill lines, our records alone, or carried items
	BillLines          int64
	OrderFen           int64 // 订单金额
	SettlementFen      int64 // 应结订单金额
	RefundFen          int64 // 退款金额
	RequestedRefundFen int64 // 申请退款金额
	FeeMilliFen        int64 // 手续费, negative on refunds
	OurRecords         int64
	OurAmountFen       int64 // payments and refunds alike, as recorded
}

// Problem is a bill line, or a fact about the bill, that could not be reconciled.
type Problem struct {
	Line   int    `json:"line"` // 1-based line of the uncompressed bill; 0 when not about a line
	Reason string `json:"reason"`
}

// Run is one reconciliation of one merchant's bill day.
type Run struct {
	ID         uuid.UUID
	MchID      string
	Date       string // business day, yyyy-MM-dd, Asia/Shanghai
	Attempt    int    // 1, then +1 for every re-run of the date
	Source     Source
	State      RunState
	BillType   wxpay.TradeBillType
	StartedAt  time.Time
	FinishedAt time.Time

	Totals        wxpay.TradeTotals // of the bill's well-formed detail lines
	NetMilliFen   int64             // settlement - refunds - fees
	LedgerRecords int64             // our records streamed for the window
	CarriedIn     int64             // outside_window items of the previous date taken over
	Repaired      int64             // missing_ours exceptions repaired
	Classes       [NumClasses]ClassStats
	Problems      []Problem // the first 1000
	ProblemCount  int64
}

// Exceptions counts the items that are not matched and not carried forward.
func (r *Run) Exceptions() int64 {
	var n int64
	for c := ClassMissingOurs; c < NumClasses; c++ {
		if c != ClassOutsideWindow {
			n += r.Classes[c].Items
		}
	}
	return n
}

// BillSide is the bill line of an exception.
type BillSide struct {
	LineNo      int // in this run's bill; for a line carried in, in the previous date's bill
	State       string
	At          time.Time
	AmountFen   int64 // 订单金额 of a payment, 申请退款金额 (else 退款金额) of a refund
	FeeMilliFen int64
}

// OurSide is our record of an exception.
type OurSide struct {
	Status    string
	At        time.Time
	AmountFen int64
	FeeFen    int64
}

// Exception is one item that is not matched.
type Exception struct {
	ID            uuid.UUID
	Seq           int
	Class         Class
	Kind          Kind
	OutTradeNo    string
	TransactionID string
	OutRefundNo   string
	RefundID      string
	Bill          *BillSide // nil: not in the bill
	Ours          *OurSide  // nil: not in our records
	CarriedFrom   string    // the date whose run carried it here, or ""
	RepairedAt    *time.Time
	Note          string
}

// key is the identity the exception is matched by: the WeChat id when known, our
// number otherwise.
func (e *Exception) key() string {
	if e.Kind == KindRefund {
		return "R" + firstNonEmpty(e.RefundID, "#"+e.OutRefundNo)
	}
	return "P" + firstNonEmpty(e.TransactionID, "#"+e.OutTradeNo)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// dayWindow is [00:00, next 00:00) of date in Asia/Shanghai.
func dayWindow(date string) (time.Time, time.Time, error) {
	day, err := time.ParseInLocation(wxpay.BillDateLayout, date, wxpay.Shanghai)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return day, day.AddDate(0, 0, 1), nil
}
