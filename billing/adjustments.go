package billing

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Adjustment is a credit (+) or a charge (−) to a merchant, signed as the merchant sees
// it. It belongs to the period of the moment it is made; a correction of an issued
// statement (Corrects) is made after that statement's period, so it lands in a later
// statement: an issued statement never changes.
type Adjustment struct {
	ID         uuid.UUID  `json:"id"`
	MerchantID uuid.UUID  `json:"merchant_id"`
	AmountFen  int64      `json:"amount_fen"`
	Reason     string     `json:"reason"`
	Corrects   *uuid.UUID `json:"corrects,omitempty"`
	At         time.Time  `json:"at"`
}

// NewAdjustment is what finance adjusts.
type NewAdjustment struct {
	AmountFen int64 // + credit, − charge
	Reason    string
	Corrects  uuid.UUID // an issued statement of the merchant, or Nil
}

// Validate checks the fields.
func (n NewAdjustment) Validate() error {
	switch {
	case n.AmountFen == 0 || n.AmountFen > money.MaxPaymentFen || n.AmountFen < -money.MaxPaymentFen:
		return errs.Invalidf("amount", "a credit (+) or a charge (−), not zero, at most %s yuan", money.MustNew(money.MaxPaymentFen, money.CNY))
	case strings.TrimSpace(n.Reason) == "" || len([]rune(n.Reason)) > 200:
		return errs.Invalidf("reason", "a reason of 1 to 200 characters")
	}
	return nil
}

// Adjust records an adjustment of the merchant's settlement (finance), audited.
func (s *Service) Adjust(ctx context.Context, p *identity.Principal, merchant uuid.UUID, in NewAdjustment) (Adjustment, error) {
	if err := financeOnly(p); err != nil {
		return Adjustment{}, err
	}
	if err := in.Validate(); err != nil {
		return Adjustment{}, err
	}
	a := Adjustment{ID: s.newID(), MerchantID: merchant, AmountFen: in.AmountFen, Reason: strings.TrimSpace(in.Reason), At: s.now()}
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := billingdb.New(tx)
		corrects := uuid.NullUUID{UUID: in.Corrects, Valid: in.Corrects != uuid.Nil}
		if corrects.Valid {
			st, err := q.GetStatement(ctx, in.Corrects)
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && st.MerchantID != merchant) {
				return errs.Invalidf("corrects", "an issued statement of this merchant")
			} else if err != nil {
				return err
			}
			a.Corrects = &in.Corrects
		}
		if err := q.InsertAdjustment(ctx, billingdb.InsertAdjustmentParams{ID: a.ID, MerchantID: merchant, AmountFen: a.AmountFen,
			Reason: a.Reason, Corrects: corrects, At: a.At, CreatedBy: uuid.NullUUID{UUID: p.User.ID, Valid: p.User.ID != uuid.Nil}}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "billing.adjustment.create", ObjectType: "billing.adjustment",
			ObjectID: a.ID.String(), After: a})
	})
	if err != nil {
		return Adjustment{}, wrap("adjust", err)
	}
	return a, nil
}
