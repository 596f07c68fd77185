package billing

import (
	"embed"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/web"
)

// Console pages (财务): orders with their ledger and notifications, refunds (made
// from an order, over the limit through an approval), and settlement statements with
// their entries, adjustments, payout and exports. Finance sees every merchant; a
// merchant's owner the same pages with only their own orders and statements (the
// merchant portal's money).

//go:embed console
var consoleFiles embed.FS

func (s *Service) pages() web.Pages {
	files := web.EmbeddedDir(consoleFiles, "console")
	return web.Pages{
		Domain: "billing", Templates: files, Messages: files,
		Nav: []web.NavItem{
			{ID: "nav-billing-orders", Label: "nav.billing_orders", Href: "/billing/orders", Perms: []identity.Permission{identity.PermOrderRead}},
			{ID: "nav-billing-refunds", Label: "nav.billing_refunds", Href: "/billing/refunds", Perms: []identity.Permission{identity.PermOrderRead}},
			{ID: "nav-billing-statements", Label: "nav.billing_statements", Href: "/billing/statements", Perms: []identity.Permission{identity.PermSettlementRead}},
		},
		Mount: func(r gin.IRouter, w *web.Console) {
			pg := consolePages{svc: s, w: w}
			r.GET("/billing/orders", w.Handle(pg.orders))
			r.GET("/billing/orders/:id", w.Handle(pg.order))
			r.POST("/billing/orders/:id", w.Handle(pg.refundOrder))
			r.GET("/billing/refunds", w.Handle(pg.refunds))
			r.GET("/billing/statements", w.Handle(pg.statements))
			r.GET("/billing/statement", w.Handle(pg.statement))
			r.POST("/billing/statement", w.Handle(pg.workStatement))
		},
	}
}

type consolePages struct {
	svc *Service
	w   *web.Console
}

// short is the first block of an id, enough to tell merchants apart on a phone.
func short(id interface{ String() string }) string { return id.String()[:8] }

// seesAll reports whether the signed-in user holds perm over every merchant (finance),
// rather than their own merchant's (an owner): only then is there a merchant to choose.
func seesAll(v *web.View, perm identity.Permission) bool {
	return v.Me != nil && v.Me.Can(perm) && v.Me.Scope(perm).SeesAll()
}
