package billing

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
)

// Ledger accounts. Postings are signed: debit positive, credit negative; the
// postings of an entry sum to zero (the postings_balanced trigger checks it at commit).
const (
	AccountClearing   = "wxpay_clearing"      // money held at WeChat Pay for us
	AccountPayable    = "merchant_payable"    // what we owe the merchant
	AccountCommission = "platform_commission" // the platform's revenue
)

// Posting is one line of a journal entry.
type Posting struct {
	Account   string
	AmountFen int64
}

// PaymentPostings books a payment: the whole amount into clearing, the commission
// (the contract's rate, half-even to the fen) to the platform, the rest owed to the
// merchant.
func PaymentPostings(amount money.Money, rate money.Rate) []Posting {
	commission := amount.MulRate(rate).Fen()
	return []Posting{
		{AccountClearing, amount.Fen()},
		{AccountPayable, -(amount.Fen() - commission)},
		{AccountCommission, -commission},
	}
}

// RefundPostings books a refund of refundFen, after which refundedTotalFen of the
// order is refunded. The commission given back is what makes the platform keep
// exactly the commission of the unrefunded amount: commission(total) −
// commission(total − refunded) − what earlier refunds gave back. So the refunds of an
// order, whatever their number, give back its whole commission when they refund it
// all, and never a fen more.
func RefundPostings(amount money.Money, rate money.Rate, refundFen, refundedTotalFen, commissionBackSoFar int64) []Posting {
	cur := amount.Currency()
	full := amount.MulRate(rate).Fen()
	remaining := money.MustNew(amount.Fen()-refundedTotalFen, cur).MulRate(rate).Fen()
	back := full - remaining - commissionBackSoFar
	return []Posting{
		{AccountClearing, -refundFen},
		{AccountPayable, refundFen - back},
		{AccountCommission, back},
	}
}

// post writes one journal entry with its postings, once per source key; it
// reports whether it wrote it. Zero postings are left out. at is the entry's
// business time, what dates it in a statement: a payment's (and its fee's) WeChat
// success time, a refund's (and the fee it gives back) success. The entry records
// its postings' sums per account, so a statement is one range aggregate over the
// entries (postings_balanced checks them at commit).
func (s *Service) post(ctx context.Context, q *billingdb.Queries, o billingdb.BillingOrder, kind, key, memo string, at time.Time, ps []Posting) (bool, error) {
	entry := s.newID()
	sums := sumsOf(ps)
	n, err := q.InsertJournalEntry(ctx, billingdb.InsertJournalEntryParams{ID: entry, OrderID: o.ID, MerchantID: o.MerchantID,
		Kind: kind, SourceKey: key, Memo: memo, CreatedAt: s.now(), At: at.UTC(), ClearingFen: sums.clearing,
		PayableFen: sums.payable, CommissionFen: sums.commission})
	if err != nil || n == 0 {
		return false, err
	}
	for _, p := range ps {
		if p.AmountFen == 0 {
			continue
		}
		if err := q.InsertPosting(ctx, billingdb.InsertPostingParams{ID: s.newID(), EntryID: entry, Account: p.Account,
			MerchantID: o.MerchantID, AmountFen: p.AmountFen, Currency: o.Currency}); err != nil {
			return false, err
		}
	}
	return true, nil
}

// entrySums are what a journal entry records of its postings, per account.
type entrySums struct{ clearing, payable, commission int64 }

func sumsOf(ps []Posting) entrySums {
	var e entrySums
	for _, p := range ps {
		switch p.Account {
		case AccountClearing:
			e.clearing += p.AmountFen
		case AccountPayable:
			e.payable += p.AmountFen
		case AccountCommission:
			e.commission += p.AmountFen
		}
	}
	return e
}

// OrderPosting is a posting of an order's entries, for reading.
type OrderPosting struct {
	EntryKind string `json:"entry_kind"`
	SourceKey string `json:"source_key"`
	Account   string `json:"account"`
	AmountFen int64  `json:"amount_fen"`
}

// OrderLedger lists an order's postings (staff in scope of billing.order.read).
func (s *Service) OrderLedger(ctx context.Context, caller *identity.Principal, orderID uuid.UUID) ([]OrderPosting, error) {
	if _, err := s.GetOrder(ctx, caller, orderID); err != nil {
		return nil, err
	}
	return s.orderLedger(ctx, orderID)
}

func (s *Service) orderLedger(ctx context.Context, orderID uuid.UUID) ([]OrderPosting, error) {
	rows, err := billingdb.New(s.db).OrderPostings(ctx, orderID)
	if err != nil {
		return nil, wrap("order ledger", err)
	}
	out := make([]OrderPosting, len(rows))
	for i, r := range rows {
		out[i] = OrderPosting{EntryKind: r.Kind, SourceKey: r.SourceKey, Account: r.Account, AmountFen: r.AmountFen}
	}
	return out, nil
}
