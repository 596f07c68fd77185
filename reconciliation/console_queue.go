package reconciliation

import (
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/web"
)

// The exceptions queue in the console: the list, and an item's page where finance
// assigns it to themselves, writes notes, resolves it, or gives a second payment back.

func queueColumns(v *web.View, merchants map[string]merchant) []web.Column[Item] {
	return []web.Column[Item]{
		{Header: "recon.item_kind", Cell: func(it Item) string { return it.Kind }, Link: func(it Item) string { return "/recon/queue/" + it.ID.String() }},
		{Header: "recon.item_source", Cell: func(it Item) string { return v.T(label("source", it.Source)) }},
		{Header: "recon.bill_type", Cell: func(it Item) string { return billTypeLabel(v, it.BillType) }},
		{Header: "recon.date", Cell: func(it Item) string { return it.Date }},
		{Header: "recon.out_trade_no", Cell: func(it Item) string { return it.OutTradeNo }},
		{Header: "recon.out_refund_no", Cell: func(it Item) string { return it.OutRefundNo }},
		{Header: "recon.merchant", Cell: func(it Item) string { // its name, its id on hover
			m, ok := merchants[it.OutTradeNo]
			switch {
			case !ok:
				return "—"
			case m.Name == "":
				return m.ID.String()[:8]
			}
			return m.Name
		}, Title: func(it Item) string {
			if m, ok := merchants[it.OutTradeNo]; ok {
				return m.ID.String()
			}
			return ""
		}},
		{Header: "recon.item_amount", Cell: func(it Item) string {
			if it.AmountFen == nil {
				return "—"
			}
			return web.Yuan(*it.AmountFen)
		}},
		{Header: "recon.item_state", Cell: func(it Item) string { return v.T(label("item", it.State)) }},
		{Header: "recon.item_assigned", Cell: func(it Item) string {
			if it.Assignee == nil {
				return "—"
			}
			if v.Me != nil && *it.Assignee == v.Me.User.ID {
				return v.T("recon.item_me")
			}
			return it.Assignee.String()[:8]
		}},
		{Header: "recon.item_first_seen", Cell: func(it Item) string { return v.Time(it.FirstSeen) }},
	}
}

// billTypeLabel names the bill of a reconciliation item's run of record; — for billing's.
func billTypeLabel(v *web.View, billType string) string {
	if billType == "" {
		return "—"
	}
	return v.T("recon.bill_type_" + strings.ToLower(billType))
}

type queuePage struct{ List web.List }

func (pg consolePages) queue(c *gin.Context, v *web.View) error {
	before, _ := uuid.Parse(c.Query("cursor"))
	f := QueueFilter{State: c.DefaultQuery("state", ItemOpen), Source: c.Query("source"), Before: before, Limit: 50}
	if c.Query("mine") == "1" && v.Me != nil {
		f.Assignee = &v.Me.User.ID
	}
	items, err := pg.svc.Queue(c.Request.Context(), v.Me, f)
	if err != nil {
		return err
	}
	next := ""
	if len(items) == f.Limit {
		next = items[len(items)-1].ID.String()
	}
	var states, sources []web.Option
	for _, s := range []string{ItemOpen, ItemResolved} {
		states = append(states, web.Option{Value: s, Label: v.T(label("item", s)), Selected: s == f.State})
	}
	for _, s := range []string{ItemFromReconciliation, ItemFromBilling} {
		sources = append(sources, web.Option{Value: s, Label: v.T(label("source", s)), Selected: s == f.Source})
	}
	filters := []web.Filter{
		{Name: "state", Label: "recon.item_state", Type: "select", Value: f.State, Options: states},
		{Name: "source", Label: "recon.item_source", Type: "select", Value: f.Source, Options: sources},
	}
	list := web.NewList("recon-queue", queueColumns(v, pg.svc.itemMerchants(c.Request.Context(), items)), items, filters, c.Request.URL, next, false)
	return pg.w.Show(c, v, "recon/queue", "recon.queue_title", queuePage{List: list})
}

type itemPage struct {
	Item     Item
	BillType string // the bill's name, in the reader's language
	Mine     bool
	CanWork  bool
}

func (pg consolePages) item(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound(objItem)
	}
	it, err := pg.svc.QueueItem(c.Request.Context(), v.Me, id)
	if err != nil {
		return err
	}
	mine := it.Assignee != nil && v.Me != nil && *it.Assignee == v.Me.User.ID
	return pg.w.Show(c, v, "recon/item", "recon.item_title", itemPage{Item: it, BillType: billTypeLabel(v, it.BillType), Mine: mine, CanWork: v.Can("recon.exception.resolve")})
}

// workItem is every form of the item's page: action names which.
func (pg consolePages) workItem(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound(objItem)
	}
	ctx := c.Request.Context()
	var flash string
	switch c.PostForm("action") {
	case "assign_me":
		me := v.Me.User.ID
		flash = "recon.item_assigned_flash"
		_, err = pg.svc.Work(ctx, v.Me, id, ItemAction{Assign: true, Assignee: &me})
	case "unassign":
		flash = "recon.item_assigned_flash"
		_, err = pg.svc.Work(ctx, v.Me, id, ItemAction{Assign: true})
	case "note":
		flash = "recon.item_noted_flash"
		_, err = pg.svc.Work(ctx, v.Me, id, ItemAction{Note: c.PostForm("note")})
		if err == nil && c.PostForm("note") == "" {
			err = errs.Invalidf("note", "write the note")
		}
	case "resolve":
		flash = "recon.item_resolved_flash"
		if c.PostForm("resolution") == "" {
			err = errs.Invalidf("resolution", "say how it was resolved")
		} else {
			_, err = pg.svc.Work(ctx, v.Me, id, ItemAction{Resolution: c.PostForm("resolution")})
		}
	case "refund":
		flash = "recon.item_refunded_flash"
		_, err = pg.svc.RefundItem(ctx, v.Me, id)
	default:
		err = errs.Invalidf("action", "assign_me, unassign, note, resolve or refund")
	}
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.item)
	}
	return pg.w.Redirect(c, "/recon/queue/"+id.String(), flash)
}
