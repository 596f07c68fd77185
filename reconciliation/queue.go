package reconciliation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tandemcrm/tandem/reconciliation/internal/recondb"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

const objItem = "recon.queue_item"

// Error codes of the exceptions queue.
const (
	CodeItemNotFound    = objItem + "_not_found"
	CodeItemResolved    = "recon.item_resolved"
	CodeItemNotRefunded = "recon.item_not_refundable"
)

// Queue item sources and states.
const (
	ItemFromReconciliation = "reconciliation"
	ItemFromBilling        = "billing"
	ItemOpen               = "open"
	ItemResolved           = "resolved"
)

// SecondPaymentRefunder refunds a second payment of an order that billing reported
// (events.TopicPaymentException of kind second_transaction); cmd/tandem adapts
// billing to it. Nil: such items are resolved by hand.
type SecondPaymentRefunder interface {
	RefundSecondPayment(ctx context.Context, p *identity.Principal, exceptionID uuid.UUID) (outRefundNo string, err error)
}

// Item is one entry of finance's exceptions queue: an exception of a run of record
// (kept across re-runs by what it is about), or one billing reported.
type Item struct {
	ID            uuid.UUID  `json:"id"`
	Source        string     `json:"source"`              // reconciliation or billing
	BillType      string     `json:"bill_type,omitempty"` // a reconciliation item's run of record: ALL or FUNDFLOW
	MchID         string     `json:"mchid"`
	Date          string     `json:"date,omitempty"` // a reconciliation item's business day
	Kind          string     `json:"kind"`           // the class, or billing's exception kind
	OutTradeNo    string     `json:"out_trade_no"`
	OutRefundNo   string     `json:"out_refund_no"`
	TransactionID string     `json:"transaction_id"`
	AmountFen     *int64     `json:"amount_fen"`
	Detail        string     `json:"detail"`
	State         string     `json:"state"`
	Assignee      *uuid.UUID `json:"assignee"`
	Resolution    string     `json:"resolution,omitempty"`
	ResolvedBy    *uuid.UUID `json:"resolved_by"` // null with a resolution: cleared by a re-run
	ResolvedAt    *time.Time `json:"resolved_at"`
	FirstSeen     time.Time  `json:"first_seen"`
	LastSeen      time.Time  `json:"last_seen"`
	Refundable    bool       `json:"refundable"` // a second payment finance can give back from here
	Notes         []Note     `json:"notes,omitempty"`

	itemKey string
}

// Note is a line finance wrote on an item.
type Note struct {
	ID        uuid.UUID `json:"id"`
	Author    uuid.UUID `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

func optUUID(u pgtype.UUID) *uuid.UUID {
	if !u.Valid {
		return nil
	}
	id := uuid.UUID(u.Bytes)
	return &id
}

func pgUUID(u *uuid.UUID) pgtype.UUID {
	if u == nil {
		return pgtype.UUID{}
	}
	return pgtype.UUID{Bytes: *u, Valid: true}
}

func itemFrom(r recondb.ReconQueueItem) Item {
	it := Item{ID: r.ID, Source: r.Source, BillType: r.BillType, MchID: r.Mchid, Kind: r.Kind, OutTradeNo: r.OutTradeNo, OutRefundNo: r.OutRefundNo,
		TransactionID: r.TransactionID, AmountFen: r.AmountFen, Detail: r.Detail, State: r.State, Assignee: optUUID(r.Assignee),
		Resolution: r.Resolution, ResolvedBy: optUUID(r.ResolvedBy), ResolvedAt: r.ResolvedAt, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen,
		itemKey: r.ItemKey}
	if r.BillDate != nil {
		it.Date = r.BillDate.Format("2006-01-02")
	}
	it.Refundable = r.Source == ItemFromBilling && r.Kind == "second_transaction" && r.State == ItemOpen
	return it
}

// queueRun files a run of record's exceptions in the queue, in the run's save
// transaction: each becomes or updates the item of what it is about (merchant,
// date, transaction or refund), keeping its assignee, notes and resolution; open
// items of the date the run no longer reports are cleared. Items carried to the
// next date and lines already repaired are not finance's work.
//
// The runs of record are the day's trade bill (ALL) and its fund-flow bill
// (FUNDFLOW); a SUCCESS or REFUND run saw half the day and files nothing. A
// fund-flow item is about one line's business (the payment's income, its fee, the
// refund, the fee given back), so a payment and its fee are two items.
func queueRun(ctx context.Context, q *recondb.Queries, run *Run, excs []Exception, at time.Time) error {
	if run.BillType != wxpay.TradeBillAll && run.BillType != BillFundFlow {
		return nil
	}
	from, _, _ := dayWindow(run.Date)
	day := dbDate(from)
	runID := pgtype.UUID{Bytes: run.ID, Valid: true}
	var batch []recondb.UpsertRunItemParams
	for i := range excs {
		e := &excs[i]
		if e.Class == ClassOutsideWindow || e.RepairedAt != nil {
			continue
		}
		key, detail := run.MchID+"|"+run.Date+"|"+e.key(), e.Note
		if run.BillType == BillFundFlow && e.Bill != nil {
			key = run.MchID + "|" + run.Date + "|FUNDFLOW|" + e.Bill.State + "|" + e.key()
			detail = strings.TrimSpace(fmt.Sprintf("%s (line %d) %s", e.Bill.State, e.Bill.LineNo, e.Note))
		}
		p := recondb.UpsertRunItemParams{ID: uuid.Must(uuid.NewV7()), ItemKey: key,
			Mchid: run.MchID, BillDate: &day, Kind: e.Class.String(), OutTradeNo: e.OutTradeNo, OutRefundNo: e.OutRefundNo,
			TransactionID: e.TransactionID, Detail: detail, RunID: runID, FirstSeen: at, BillType: string(run.BillType)}
		switch {
		case e.Bill != nil:
			p.AmountFen = &e.Bill.AmountFen
		case e.Ours != nil:
			p.AmountFen = &e.Ours.AmountFen
		}
		batch = append(batch, p)
	}
	var err error
	q.UpsertRunItem(ctx, batch).Exec(func(_ int, e error) {
		if e != nil && err == nil {
			err = e
		}
	})
	if err != nil {
		return err
	}
	_, err = q.ClearRunItems(ctx, recondb.ClearRunItemsParams{Mchid: run.MchID, BillDate: &day, BillType: string(run.BillType), RunID: run.ID, At: &at,
		Resolution: fmt.Sprintf("cleared: the re-run of %s (attempt %d) no longer finds it", at.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04"), run.Attempt)})
	return err
}

// SubscriberQueue is the name reconciliation subscribes to billing's events under.
const SubscriberQueue = "reconciliation.queue"

// Subscriptions file billing's payment exceptions in the queue.
func (s *Service) Subscriptions() []outbox.Subscription {
	return []outbox.Subscription{{Topic: events.TopicPaymentException, Subscriber: SubscriberQueue, Queue: "critical",
		Handle: s.fileBillingException}}
}

func (s *Service) fileBillingException(ctx context.Context, e events.Envelope) error {
	var p events.PaymentException
	if err := e.Decode(&p); err != nil {
		return err
	}
	var amount *int64
	if p.AmountFen != 0 {
		amount = &p.AmountFen
	}
	err := recondb.New(s.db).UpsertBillingItem(ctx, recondb.UpsertBillingItemParams{ID: uuid.Must(uuid.NewV7()),
		ItemKey: p.ExceptionID.String(), Mchid: p.MchID, Kind: p.Kind, OutTradeNo: p.OutTradeNo, OutRefundNo: p.OutRefundNo,
		TransactionID: p.TransactionID, AmountFen: amount, Detail: p.Detail, FirstSeen: p.At})
	return pg.Classify(err)
}

// QueueFilter selects queue items; the zero value is every item, newest first.
type QueueFilter struct {
	State    string     // open, resolved, or every one
	Source   string     // reconciliation, billing, or every one
	Assignee *uuid.UUID // one assignee's
	Before   uuid.UUID  // the cursor
	Limit    int
}

// Queue lists the exceptions queue (recon.run.read).
func (s *Service) Queue(ctx context.Context, p *identity.Principal, f QueueFilter) ([]Item, error) {
	if _, err := p.Require(identity.PermReconRead); err != nil {
		return nil, err
	}
	switch f.State {
	case "", ItemOpen, ItemResolved:
	default:
		return nil, errs.E(errs.KindInvalid, CodeInvalidFilter, "state is open or resolved").WithField("state")
	}
	switch f.Source {
	case "", ItemFromReconciliation, ItemFromBilling:
	default:
		return nil, errs.E(errs.KindInvalid, CodeInvalidFilter, "source is reconciliation or billing").WithField("source")
	}
	lim := pg.PageLimit(f.Limit)
	rows, err := recondb.New(s.db).ListQueue(ctx, recondb.ListQueueParams{State: f.State, Source: f.Source,
		Assignee: pgUUID(f.Assignee), Before: f.Before, Lim: int32(lim)})
	if err != nil {
		return nil, pg.Classify(err)
	}
	out := make([]Item, len(rows))
	for i, r := range rows {
		out[i] = itemFrom(r)
	}
	return out, nil
}

// QueueItem is one item with its notes (recon.run.read).
func (s *Service) QueueItem(ctx context.Context, p *identity.Principal, id uuid.UUID) (Item, error) {
	if _, err := p.Require(identity.PermReconRead); err != nil {
		return Item{}, err
	}
	q := recondb.New(s.db)
	r, err := q.GetQueueItem(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Item{}, errs.NotFound(objItem)
	} else if err != nil {
		return Item{}, pg.Classify(err)
	}
	it := itemFrom(r)
	notes, err := q.ListQueueNotes(ctx, id)
	if err != nil {
		return Item{}, pg.Classify(err)
	}
	for _, n := range notes {
		it.Notes = append(it.Notes, Note{ID: n.ID, Author: n.Author, Body: n.Body, CreatedAt: n.CreatedAt})
	}
	return it, nil
}

// ItemAction is what finance does to an item: assign it (Assignee, nil to
// unassign), write a note (Note) or resolve it (Resolution, the reason).
type ItemAction struct {
	Assign     bool
	Assignee   *uuid.UUID
	Note       string
	Resolution string
}

// Work applies one action to an item for p (recon.exception.resolve), audited.
// A resolved item takes notes but is not assigned or resolved again.
func (s *Service) Work(ctx context.Context, p *identity.Principal, id uuid.UUID, a ItemAction) (Item, error) {
	if _, err := p.Require(identity.PermReconResolve); err != nil {
		return Item{}, err
	}
	note, reason := strings.TrimSpace(a.Note), strings.TrimSpace(a.Resolution)
	switch {
	case !a.Assign && note == "" && reason == "":
		return Item{}, errs.Invalidf("action", "assign, note or resolve")
	case len([]rune(note)) > 2000:
		return Item{}, errs.Invalidf("note", "at most 2000 characters")
	case len([]rune(reason)) > 500:
		return Item{}, errs.Invalidf("resolution", "at most 500 characters")
	}
	if a.Assign {
		if err := s.checkAssignee(ctx, p, a.Assignee); err != nil {
			return Item{}, err
		}
	}
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := recondb.New(tx)
		r, err := q.LockQueueItem(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound(objItem)
		} else if err != nil {
			return err
		}
		before := map[string]any{"state": r.State, "assignee": optUUID(r.Assignee)}
		after := map[string]any{}
		now := s.now()
		if (a.Assign || reason != "") && r.State == ItemResolved {
			return errs.E(errs.KindConflict, CodeItemResolved, "the item is resolved: "+r.Resolution)
		}
		if a.Assign {
			if err := q.AssignQueueItem(ctx, recondb.AssignQueueItemParams{ID: id, Assignee: pgUUID(a.Assignee)}); err != nil {
				return err
			}
			after["assignee"] = a.Assignee
		}
		if note != "" {
			if err := q.InsertQueueNote(ctx, recondb.InsertQueueNoteParams{ID: uuid.Must(uuid.NewV7()), ItemID: id,
				Author: p.User.ID, Body: note, CreatedAt: now}); err != nil {
				return err
			}
			after["note"] = note
		}
		if reason != "" {
			by := p.User.ID
			if err := q.ResolveQueueItem(ctx, recondb.ResolveQueueItemParams{ID: id, Resolution: reason,
				ResolvedBy: pgUUID(&by), ResolvedAt: &now}); err != nil {
				return err
			}
			after["state"], after["resolution"] = ItemResolved, reason
		}
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "recon.queue.work", ObjectType: objItem,
			ObjectID: id.String(), Before: before, After: after})
	})
	if err != nil {
		return Item{}, fmt.Errorf("reconciliation: queue item: %w", pg.Classify(err))
	}
	return s.QueueItem(ctx, p, id)
}

// RefundItem gives back the second payment a billing item is about (through
// billing: billing.refund.create) and resolves the item with the refund's number.
func (s *Service) RefundItem(ctx context.Context, p *identity.Principal, id uuid.UUID) (Item, error) {
	it, err := s.QueueItem(ctx, p, id)
	if err != nil {
		return Item{}, err
	}
	if !it.Refundable || s.ports.Refunder == nil {
		return Item{}, errs.E(errs.KindConflict, CodeItemNotRefunded, "only an open second payment billing reported is refunded from here")
	}
	exc, err := uuid.Parse(it.itemKey)
	if err != nil {
		return Item{}, err
	}
	no, err := s.ports.Refunder.RefundSecondPayment(ctx, p, exc)
	if err != nil {
		return Item{}, err
	}
	return s.Work(ctx, p, id, ItemAction{Resolution: "refunded as " + no})
}
