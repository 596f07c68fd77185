package billing

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
)

// The finance API beside the console: refunds and issued statements listed, a
// statement's entries, adjustments.
func (h api) mountFinance(rt domain.Routers) {
	staff := rt.Staff.Group("/billing")
	staff.GET("/refunds", identity.Require(identity.PermOrderRead), identity.Handle(h.listRefunds))
	staff.GET("/statements", identity.Require(identity.PermSettlementRead), identity.Handle(h.listStatements))
	staff.GET("/merchants/:id/statements/:period/lines", identity.Require(identity.PermSettlementRead), identity.Handle(h.statementLines))
	staff.POST("/merchants/:id/adjustments", identity.Require(identity.PermSettlementRead), rt.Idempotent, identity.Handle(h.postAdjustment))
}

func (h api) listRefunds(c *gin.Context, p *identity.Principal) error {
	before, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	rs, err := h.svc.SearchRefunds(c.Request.Context(), p, c.Query("state"), before, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(rs, httpx.NextAfter(rs, limit, func(r RefundRow) uuid.UUID { return r.ID })))
	return nil
}

func (h api) listStatements(c *gin.Context, p *identity.Principal) error {
	before, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	f := StatementFilter{Paid: c.Query("paid"), Before: before, Limit: limit}
	if m := c.Query("merchant"); m != "" {
		if f.Merchant, err = uuid.Parse(m); err != nil {
			return errs.E(errs.KindInvalid, CodeInvalidFilter, "the merchant is its id").WithField("merchant")
		}
	}
	sts, err := h.svc.ListStatements(c.Request.Context(), p, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(sts, httpx.NextAfter(sts, limit, func(s Statement) uuid.UUID { return s.ID })))
	return nil
}

// StatementWithLines is a statement and the ledger entries and adjustments it sums.
type StatementWithLines struct {
	Statement
	Lines []StatementLine `json:"lines"`
}

func (h api) statementLines(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objStatement)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	st, err := h.svc.MerchantStatement(ctx, p, id, c.Query("cycle"), c.Param("period"))
	if err != nil {
		return err
	}
	lines, err := h.svc.StatementLines(ctx, p, st)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, StatementWithLines{Statement: st, Lines: lines})
	return nil
}

type adjustmentBody struct {
	Amount   string    `json:"amount" maxlen:"20"` // signed yuan: "12.50" credits, "-12.50" charges
	Reason   string    `json:"reason" maxlen:"200"`
	Corrects uuid.UUID `json:"corrects"` // an issued statement it corrects, optional
}

func (h api) postAdjustment(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objStatement)
	if err != nil {
		return err
	}
	var in adjustmentBody
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	amount, err := money.ParseYuan(strings.TrimPrefix(strings.TrimSpace(in.Amount), "+"))
	if err != nil {
		return errs.Invalidf("amount", "signed yuan: 12.50 credits the merchant, -12.50 charges them")
	}
	a, err := h.svc.Adjust(c.Request.Context(), p, id, NewAdjustment{AmountFen: amount.Fen(), Reason: in.Reason, Corrects: in.Corrects})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, a)
	return nil
}
