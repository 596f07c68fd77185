package merchant

import (
	"embed"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/web"
)

// Console pages of onboarding review (进件审核): the reviewer's queue and one
// application's page with its decisions and WeChat's state.

//go:embed console/onb_*.html console/onb_i18n/*.json
var onbFiles embed.FS

func (s *Service) onboardingPages() web.Pages {
	tpl := web.EmbeddedDir(onbFiles, "console")
	msgs := web.EmbeddedDir(onbFiles, "console/onb_i18n")
	return web.Pages{
		Domain: "merchant", Templates: tpl, Messages: msgs,
		Nav: []web.NavItem{{ID: "nav-onboarding", Label: "nav.onboarding", Href: "/onboarding", Perms: []identity.Permission{identity.PermOnboardingRead}},
			{ID: "nav-portal", Label: "nav.portal", Href: "/portal", Perms: []identity.Permission{identity.PermPortalRead}}},
		Mount: func(r gin.IRouter, w *web.Console) {
			pg := onbPages{svc: s, w: w}
			r.GET("/onboarding", w.Handle(pg.queue))
			r.GET("/onboarding/:id", w.Handle(pg.application))
			r.POST("/onboarding/:id", w.Handle(pg.decide))
			r.GET("/portal", w.Handle(pg.portal))
		},
	}
}

type onbPages struct {
	svc *Service
	w   *web.Console
}

func onbState(v *web.View, st OnboardingState) string { return v.T("onb.state_" + string(st)) }
func onbReview(v *web.View, r Review) string          { return v.T("onb.review_" + string(r)) }

func applicationColumns(v *web.View) []web.Column[Application] {
	return []web.Column[Application]{
		{Header: "onb.shop", Cell: func(a Application) string { return a.Name }, Link: func(a Application) string { return "/onboarding/" + a.LeadID.String() }},
		{Header: "onb.category", Cell: func(a Application) string { return a.Category }},
		{Header: "onb.city", Cell: func(a Application) string { return a.City }},
		{Header: "onb.state", Cell: func(a Application) string { return onbState(v, a.State) }},
		{Header: "onb.review", Cell: func(a Application) string { return onbReview(v, a.Review) }},
		{Header: "onb.submitted_at", Cell: func(a Application) string { return v.Time(a.SubmittedAt) }},
		{Header: "onb.reason", Cell: func(a Application) string { return a.Reason }},
	}
}

type queuePage struct{ List web.List }

func (pg onbPages) queue(c *gin.Context, v *web.View) error {
	f := QueueFilter{All: c.Query("all") == "true", State: OnboardingState(c.Query("state"))}
	if cur := c.Query("cursor"); cur != "" {
		id, err := uuid.Parse(cur)
		if err != nil {
			return errs.Invalidf("cursor", "the cursor is the next_cursor of a previous page")
		}
		f.After = id
	}
	apps, next, err := pg.svc.ListApplications(c.Request.Context(), v.Me, f)
	if err != nil {
		return err
	}
	var states []web.Option
	for _, st := range OnboardingStates() {
		states = append(states, web.Option{Value: string(st), Label: onbState(v, st), Selected: st == f.State})
	}
	all := []web.Option{{Value: "true", Label: v.T("onb.all_yes"), Selected: f.All}}
	filters := []web.Filter{
		{Name: "state", Label: "onb.state", Type: "select", Value: string(f.State), Options: states},
		{Name: "all", Label: "onb.all", Type: "select", Value: c.Query("all"), Options: all},
	}
	nextCur := ""
	if next != uuid.Nil {
		nextCur = next.String()
	}
	list := web.NewList("onb-queue", applicationColumns(v), apps, filters, c.Request.URL, nextCur, false)
	return pg.w.Show(c, v, "merchant/onb_queue", "onb.queue_title", queuePage{List: list})
}

type applicationPage struct {
	D          ApplicationDetail
	State      string
	Review     string
	Submitted  string
	Documents  []docView
	History    []historyRow
	CanReview  bool // waiting for this reviewer's decision
	CanSync    bool // at WeChat
	Result     *Approved
	ApplyID    string
	Commission string
	Host       string // scheme and host of the console, for the invitation link
}

type historyRow struct{ At, Event, State, Review, Note string }

func (pg onbPages) application(c *gin.Context, v *web.View) error {
	return pg.show(c, v, nil)
}

func (pg onbPages) show(c *gin.Context, v *web.View, result *Approved) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("merchant.lead")
	}
	d, err := pg.svc.GetApplication(c.Request.Context(), v.Me, id)
	if err != nil {
		return err
	}
	p := applicationPage{D: d, State: onbState(v, d.Onboarding.State), Review: onbReview(v, d.Onboarding.Review),
		Submitted: v.Time(d.Onboarding.SubmittedAt), Result: result, Commission: d.Contract.CommissionText, Host: consoleHost(c),
		CanReview: v.Me.Can(identity.PermOnboardingReview) && d.Onboarding.State == OnboardingAuditing && d.Onboarding.Review == ReviewPending,
		CanSync:   v.Me.Can(identity.PermOnboardingReview) && d.Onboarding.BusinessCode != "" && d.MerchantID == nil}
	if d.Onboarding.ApplymentID != 0 {
		p.ApplyID = strconv.FormatInt(d.Onboarding.ApplymentID, 10)
	}
	for _, doc := range d.Documents {
		p.Documents = append(p.Documents, docView{Document: doc, Label: v.T("onb.doc_" + doc.Key)})
	}
	for i := len(d.History) - 1; i >= 0; i-- {
		h := d.History[i]
		p.History = append(p.History, historyRow{At: v.Time(h.At), Event: v.T("onb.event_" + h.Event), State: onbState(v, h.State),
			Review: onbReview(v, h.Review), Note: h.Note})
	}
	return pg.w.Show(c, v, "merchant/onb_application", "onb.application_title", p)
}

// decide applies one of the reviewer's forms: approve, reject, change or sync.
func (pg onbPages) decide(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("merchant.lead")
	}
	ctx := c.Request.Context()
	var res Approved
	switch c.PostForm("action") {
	case "approve":
		res, err = pg.svc.ApproveOnboarding(ctx, v.Me, id, Approval{SubMchID: c.PostForm("sub_mchid"), WebhookURL: c.PostForm("webhook_url")})
	case "sync":
		res, err = pg.svc.SyncApplyment(ctx, v.Me, id)
	case "reject":
		_, err = pg.svc.RejectOnboarding(ctx, v.Me, id, c.PostForm("reason"))
	case "change":
		_, err = pg.svc.RequestChange(ctx, v.Me, id, c.PostForm("reason"))
	default:
		err = errs.Invalidf("action", "action is approve, sync, reject or change")
	}
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.application)
	}
	if res.Live {
		// Shown once, on this answer: the webhook secret and the owner's first login.
		return pg.show(c, v, &res)
	}
	return pg.w.Redirect(c, "/onboarding/"+id.String(), "onb.saved")
}

// consoleHost is the console's scheme and host as the browser reached it.
func consoleHost(c *gin.Context) string {
	scheme := "http"
	if c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + c.Request.Host
}

type portalPage struct {
	Home       PortalHome
	LiveAt     string
	Deposit    string
	NoMerchant bool
}

// portal is the merchant portal's home: status, contract, staff.
func (pg onbPages) portal(c *gin.Context, v *web.View) error {
	home, err := pg.svc.Portal(c.Request.Context(), v.Me)
	if errs.KindOf(err) == errs.KindNotFound {
		return pg.w.Show(c, v, "merchant/onb_portal", "portal.title", portalPage{NoMerchant: true})
	}
	if err != nil {
		return err
	}
	return pg.w.Show(c, v, "merchant/onb_portal", "portal.title", portalPage{Home: home, LiveAt: v.Time(home.Merchant.LiveAt),
		Deposit: web.Yuan(home.Contract.DepositFen)})
}
