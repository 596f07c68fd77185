package reconciliation_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

func openItems(t *testing.T, svc *reconciliation.Service) map[string]reconciliation.Item {
	t.Helper()
	items, err := svc.Queue(context.Background(), identity.System(), reconciliation.QueueFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]reconciliation.Item{}
	for _, it := range items {
		out[it.Kind+" "+it.OutTradeNo+it.OutRefundNo] = it
	}
	return out
}

// TestQueueKeepsItsHistoryAcrossReRuns: a run's exceptions become queue items
// finance assigns, notes and resolves (audited); a re-run updates them and keeps
// that work; what the re-run no longer finds is cleared.
func TestQueueKeepsItsHistoryAcrossReRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, audit.Migrations, reconciliation.Migrations)
	me := uuid.Must(uuid.NewV7())
	svc := reconciliation.New(domain.Deps{DB: db}, reconciliation.Ports{Assignees: financeUsers{me}}, reconciliation.Config{})
	if _, err := svc.RunFile(ctx, testMch, "2025-03-14", strings.NewReader(day1Bill), reconciliation.CSVLedgerReader(strings.NewReader(day1Ledger))); err != nil {
		t.Fatal(err)
	}
	items := openItems(t, svc)
	// Not carried items (outside_window) nor the ones repaired: 6 exceptions to work.
	for _, k := range []string{"missing_ours TD2", "missing_wechat TD3", "amount_mismatch TD4", "status_mismatch TD5RF5", "duplicate TD6", "duplicate TD7"} {
		if it, ok := items[k]; !ok || it.State != reconciliation.ItemOpen || it.Date != "2025-03-14" {
			t.Fatalf("no open item %q in %v", k, items)
		}
	}
	if len(items) != 6 {
		t.Fatalf("%d items", len(items))
	}
	fin := identity.System()
	td4 := items["amount_mismatch TD4"]
	stranger := uuid.Must(uuid.NewV7())
	if _, err := svc.Work(ctx, fin, td4.ID, reconciliation.ItemAction{Assign: true, Assignee: &stranger}); !errs.Is(err, reconciliation.CodeAssigneeUnknown) {
		t.Fatalf("assigned to a made-up user: %v", err)
	}
	if _, err := svc.Work(ctx, fin, td4.ID, reconciliation.ItemAction{Assign: true, Assignee: &me}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Work(ctx, fin, td4.ID, reconciliation.ItemAction{Note: "asked the shop for the receipt"}); err != nil {
		t.Fatal(err)
	}
	td2 := items["missing_ours TD2"]
	if _, err := svc.Work(ctx, fin, td2.ID, reconciliation.ItemAction{Resolution: "booked by hand, voucher 118"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Work(ctx, fin, td2.ID, reconciliation.ItemAction{Resolution: "again"}); !errs.Is(err, reconciliation.CodeItemResolved) {
		t.Fatalf("resolve twice: %v", err)
	}
	if _, err := svc.Work(ctx, fin, td2.ID, reconciliation.ItemAction{}); errs.KindOf(err) != errs.KindInvalid {
		t.Fatalf("no action: %v", err)
	}

	// Re-run with TD3 found in our ledger fixed (it was never ours: removed).
	fixed := strings.Replace(day1Ledger, "PAY,TD3,4200000003,,,8800,53,2025-03-14T09:15:00+08:00,SUCCESS\n", "", 1)
	if _, err := svc.RunFile(ctx, testMch, "2025-03-14", strings.NewReader(day1Bill), reconciliation.CSVLedgerReader(strings.NewReader(fixed))); err != nil {
		t.Fatal(err)
	}
	after := openItems(t, svc)
	if len(after) != 6 {
		t.Fatalf("items after the re-run: %d (the history is kept, none added twice)", len(after))
	}
	if it := after["missing_wechat TD3"]; it.State != reconciliation.ItemResolved || it.ResolvedBy != nil || !strings.HasPrefix(it.Resolution, "cleared") {
		t.Fatalf("the item the re-run no longer finds: %+v", it)
	}
	got, err := svc.QueueItem(ctx, fin, td4.ID)
	if err != nil || got.State != reconciliation.ItemOpen || got.Assignee == nil || *got.Assignee != me || len(got.Notes) != 1 {
		t.Fatalf("the worked item after the re-run: %+v, %v", got, err)
	}
	if it := after["missing_ours TD2"]; it.State != reconciliation.ItemResolved || it.Resolution != "booked by hand, voucher 118" {
		t.Fatalf("the resolved item after the re-run: %+v", it)
	}
	var audited int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM audit.entries WHERE action = 'recon.queue.work'`).Scan(&audited); err != nil || audited != 3 {
		t.Fatalf("%d audited actions, %v", audited, err)
	}

	// Billing's exceptions join the queue through its event, once however delivered.
	sub := svc.Subscriptions()[0]
	exc := uuid.Must(uuid.NewV7())
	payload, err := json.Marshal(events.PaymentException{ExceptionID: exc, Kind: "second_transaction", MchID: testMch,
		OutTradeNo: "TD77", TransactionID: "4200000077", AmountFen: 1500, Detail: "paid twice", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	env := events.Envelope{ID: uuid.Must(uuid.NewV7()), Topic: events.TopicPaymentException, Key: exc.String(), Payload: payload}
	for range 2 {
		if err := sub.Handle(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	billed, err := svc.Queue(ctx, fin, reconciliation.QueueFilter{Source: reconciliation.ItemFromBilling})
	if err != nil || len(billed) != 1 || !billed[0].Refundable || *billed[0].AmountFen != 1500 {
		t.Fatalf("billing items %+v, %v", billed, err)
	}
	// No refunder wired here: refunding is refused, not half done.
	if _, err := svc.RefundItem(ctx, fin, billed[0].ID); !errs.Is(err, reconciliation.CodeItemNotRefunded) {
		t.Fatalf("refund without billing: %v", err)
	}
}

// financeUsers is an Assignees port that knows the given finance users only.
type financeUsers []uuid.UUID

func (f financeUsers) Assignee(_ context.Context, id uuid.UUID) (reconciliation.Assignee, error) {
	for _, u := range f {
		if u == id {
			return reconciliation.Assignee{Found: true, CanWork: true}, nil
		}
	}
	return reconciliation.Assignee{}, nil
}
