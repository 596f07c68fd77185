package consumer

import (
	"embed"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/web"
)

// Console pages for growth operators: members (search, 360, tags, adjustments, tier
// floors), tags and their import, the points program and tier rules, coupon templates
// and batches with live stock, and the points liability.

//go:embed console
var consoleFiles embed.FS

func (s *Service) pages() web.Pages {
	files := web.EmbeddedDir(consoleFiles, "console")
	read := []identity.Permission{identity.PermMemberRead}
	return web.Pages{
		Domain: "consumer", Templates: files, Messages: files,
		Nav: []web.NavItem{
			{ID: "nav-loyalty-members", Label: "nav.loyalty_members", Href: "/loyalty/members", Perms: read, Scope: identity.LevelAll},
			{ID: "nav-loyalty-coupons", Label: "nav.loyalty_coupons", Href: "/loyalty/coupons", Perms: read, Scope: identity.LevelAll},
			{ID: "nav-loyalty-program", Label: "nav.loyalty_program", Href: "/loyalty/program", Perms: read, Scope: identity.LevelAll},
			{ID: "nav-loyalty-liability", Label: "nav.loyalty_liability", Href: "/loyalty/liability", Perms: read, Scope: identity.LevelAll},
		},
		Mount: func(r gin.IRouter, w *web.Console) {
			pg := consolePages{svc: s, w: w}
			r.GET("/loyalty/members", w.Handle(pg.members))
			r.GET("/loyalty/members/:id", w.Handle(pg.member))
			r.POST("/loyalty/members/:id/profile", w.Handle(pg.postProfile))
			r.POST("/loyalty/members/:id/tags", w.Handle(pg.postTag))
			r.POST("/loyalty/members/:id/tags/remove", w.Handle(pg.postUntag))
			r.POST("/loyalty/members/:id/adjust", w.Handle(pg.postAdjust))
			r.POST("/loyalty/members/:id/tier-floor", w.Handle(pg.postTierFloor))
			r.POST("/loyalty/members/:id/coupons", w.Handle(pg.postIssueCoupon))
			r.GET("/loyalty/tags", w.Handle(pg.tags))
			r.POST("/loyalty/tags/import", w.Handle(pg.postImport))
			r.GET("/loyalty/program", w.Handle(pg.program))
			r.POST("/loyalty/program", w.Handle(pg.postProgram))
			r.POST("/loyalty/tiers", w.Handle(pg.postTiers))
			r.GET("/loyalty/coupons", w.Handle(pg.coupons))
			r.POST("/loyalty/coupons/templates", w.Handle(pg.postTemplate))
			r.POST("/loyalty/coupons/batches", w.Handle(pg.postBatch))
			r.GET("/loyalty/liability", w.Handle(pg.liability))
		},
	}
}

type consolePages struct {
	svc *Service
	w   *web.Console
}

func memberColumns(v *web.View) []web.Column[Member] {
	return []web.Column[Member]{
		{Header: "loyalty.name", Cell: func(m Member) string {
			if m.Name == "" {
				return "—"
			}
			return m.Name
		}, Link: func(m Member) string { return "/loyalty/members/" + m.ID.String() }},
		{Header: "loyalty.phone", Cell: func(m Member) string { return m.Phone }, Link: func(m Member) string { return "/loyalty/members/" + m.ID.String() }},
		{Header: "loyalty.spendable", Cell: func(m Member) string { return strconv.FormatInt(m.Spendable, 10) }},
		{Header: "loyalty.pending", Cell: func(m Member) string { return strconv.FormatInt(m.Pending, 10) }},
		{Header: "loyalty.joined_at", Cell: func(m Member) string { return v.Time(m.JoinedAt) }},
	}
}

type membersPage struct{ List web.List }

func (pg consolePages) members(c *gin.Context, v *web.View) error {
	q, tag := strings.TrimSpace(c.Query("q")), strings.TrimSpace(c.Query("tag"))
	ms, err := pg.svc.SearchMembers(c.Request.Context(), v.Me, MemberSearch{Query: q, Tag: tag}, 50)
	if err != nil {
		return err
	}
	filters := []web.Filter{{Name: "q", Label: "loyalty.search", Type: "search", Value: q},
		{Name: "tag", Label: "loyalty.tag", Type: "text", Value: tag}}
	list := web.NewList("members-list", memberColumns(v), ms, filters, c.Request.URL, "", false)
	return pg.w.Show(c, v, "consumer/members", "loyalty.members_title", membersPage{List: list})
}

type memberPage struct {
	M        Member360
	Coupons  []Coupon
	Tiers    []Tier
	CanWrite bool
	CanAdj   bool
	// Batches are those a coupon may be issued from by hand, for those who may
	// (consumer.campaign.write): every batch, its stock left beside it.
	Batches []CouponBatch
}

// TierName is a level as the operator knows it, by the tier's name ("金卡 Gold"); a
// level the rules no longer have is shown as its number.
func (p memberPage) TierName(level int) string {
	if level >= 0 && level < len(p.Tiers) {
		return p.Tiers[level].Name
	}
	return strconv.Itoa(level)
}

func (pg consolePages) member(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound(objMember)
	}
	ctx := c.Request.Context()
	m, err := pg.svc.Member360(ctx, v.Me, id)
	if err != nil {
		return err
	}
	cs, err := pg.svc.MemberCoupons(ctx, v.Me, id)
	if err != nil {
		return err
	}
	tp, err := pg.svc.TierProgram(ctx, v.Me)
	if err != nil {
		return err
	}
	page := memberPage{M: m, Coupons: cs, Tiers: tp.Tiers, CanWrite: v.Can(string(identity.PermMemberWrite)), CanAdj: v.Can(string(identity.PermPointsAdjust))}
	if v.Can(string(identity.PermCampaignWrite)) {
		if page.Batches, err = pg.svc.CouponBatches(ctx, v.Me); err != nil {
			return err
		}
	}
	return pg.w.Show(c, v, "consumer/member", "loyalty.member_title", page)
}

// formAction runs a member form and shows the member again: redirected with a flash
// after success, or with the refusal in the user's language.
// formAction runs a form's change of a member and shows their page again with the
// flash message *flash (do may change it).
func (pg consolePages) formAction(c *gin.Context, v *web.View, flash *string, do func(id uuid.UUID) error) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound(objMember)
	}
	if err := do(id); err != nil {
		return pg.w.Rerender(c, v, err, pg.member)
	}
	return pg.w.Redirect(c, "/loyalty/members/"+id.String(), *flash)
}

func flash(key string) *string { return &key }

func (pg consolePages) postProfile(c *gin.Context, v *web.View) error {
	return pg.formAction(c, v, flash("loyalty.saved"), func(id uuid.UUID) error {
		return pg.svc.SetProfile(c.Request.Context(), v.Me, id, Profile{Name: c.PostForm("name"), Gender: c.PostForm("gender"),
			Birthday: c.PostForm("birthday"), City: c.PostForm("city")})
	})
}

func (pg consolePages) postTag(c *gin.Context, v *web.View) error {
	return pg.formAction(c, v, flash("loyalty.tagged"), func(id uuid.UUID) error {
		return pg.svc.AddTag(c.Request.Context(), v.Me, id, c.PostForm("tag"))
	})
}

func (pg consolePages) postUntag(c *gin.Context, v *web.View) error {
	return pg.formAction(c, v, flash("loyalty.untagged"), func(id uuid.UUID) error {
		return pg.svc.RemoveTag(c.Request.Context(), v.Me, id, c.PostForm("tag"))
	})
}

func (pg consolePages) postAdjust(c *gin.Context, v *web.View) error {
	flash := "loyalty.adjusted"
	return pg.formAction(c, v, &flash, func(id uuid.UUID) error {
		delta, err := strconv.ParseInt(strings.TrimSpace(c.PostForm("delta")), 10, 64)
		if err != nil {
			return errs.Invalidf("delta", "delta is a whole number of points")
		}
		adj, err := pg.svc.Adjust(c.Request.Context(), v.Me, id, delta, c.PostForm("key"), strings.TrimSpace(c.PostForm("reason")))
		if err == nil && !adj.Applied {
			flash = "loyalty.adjust_pending"
		}
		return err
	})
}

func (pg consolePages) postTierFloor(c *gin.Context, v *web.View) error {
	return pg.formAction(c, v, flash("loyalty.saved"), func(id uuid.UUID) error {
		level, err := strconv.Atoi(c.PostForm("level"))
		if err != nil {
			return errs.Invalidf("level", "choose a tier")
		}
		day, err := time.ParseInLocation(time.DateOnly, c.PostForm("until"), shanghai)
		if err != nil {
			return errs.Invalidf("until", "until is a date")
		}
		return pg.svc.SetTierFloor(c.Request.Context(), v.Me, id, level, day.AddDate(0, 0, 1), strings.TrimSpace(c.PostForm("note")))
	})
}

// postIssueCoupon issues a coupon of the chosen batch to the member by hand, once per
// the form's key (a second submit of the same form issues nothing more).
func (pg consolePages) postIssueCoupon(c *gin.Context, v *web.View) error {
	return pg.formAction(c, v, flash("loyalty.coupon_issued"), func(id uuid.UUID) error {
		batch, err := uuid.Parse(c.PostForm("batch_id"))
		if err != nil {
			return errs.NotFound("consumer.coupon_batch").WithField("batch_id")
		}
		_, err = pg.svc.IssueCouponByHand(c.Request.Context(), v.Me, batch, id, c.PostForm("issue_key"))
		return err
	})
}

type tagsPage struct {
	Tags     []TagCount
	Result   *ImportResult
	CanWrite bool
}

func (pg consolePages) tags(c *gin.Context, v *web.View) error {
	return pg.showTags(c, v, nil)
}

func (pg consolePages) showTags(c *gin.Context, v *web.View, res *ImportResult) error {
	ts, err := pg.svc.Tags(c.Request.Context(), v.Me)
	if err != nil {
		return err
	}
	return pg.w.Show(c, v, "consumer/tags", "loyalty.tags_title", tagsPage{Tags: ts, Result: res, CanWrite: v.Can(string(identity.PermMemberWrite))})
}

func (pg consolePages) postImport(c *gin.Context, v *web.View) error {
	lines := strings.FieldsFunc(c.PostForm("members"), func(r rune) bool { return r == '\n' || r == '\r' || r == ',' })
	res, err := pg.svc.ImportTags(c.Request.Context(), v.Me, c.PostForm("tag"), c.PostForm("ref"), lines)
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.tags)
	}
	v.Flash = v.T("loyalty.imported", "Tagged", res.Tagged, "Unknown", len(res.Unknown))
	return pg.showTags(c, v, &res)
}

type programPage struct {
	Program  Program
	Tiers    TierProgram
	Rows     []Tier // the tiers and empty rows to add more
	CanPts   bool
	CanTiers bool
}

func (pg consolePages) program(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	p, err := pg.svc.Program(ctx, v.Me)
	if err != nil {
		return err
	}
	tp, err := pg.svc.TierProgram(ctx, v.Me)
	if err != nil {
		return err
	}
	rows := append([]Tier(nil), tp.Tiers...)
	for len(rows) < 6 {
		rows = append(rows, Tier{Level: len(rows), MultiplierPct: 100})
	}
	return pg.w.Show(c, v, "consumer/program", "loyalty.program_title", programPage{Program: p, Tiers: tp, Rows: rows,
		CanPts: v.Can(string(identity.PermPointsAdjust)), CanTiers: v.Can(string(identity.PermCampaignWrite))})
}

func formInt(c *gin.Context, name string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(c.PostForm(name)), 10, 64)
	return n
}

func (pg consolePages) postProgram(c *gin.Context, v *web.View) error {
	in := Program{PointsPerYuan: formInt(c, "points_per_yuan"), ExpiryMonths: int(formInt(c, "expiry_months")),
		Rounding: c.PostForm("expiry_rounding"), PendingDays: int(formInt(c, "pending_days")), RemindDays: int(formInt(c, "remind_days")),
		SignupPoints: formInt(c, "signup_points"), ReferralPoints: formInt(c, "referral_points"), ReviewPoints: formInt(c, "review_points"),
		ReviewsPerDay: int(formInt(c, "reviews_per_day")), AdjustLimit: formInt(c, "adjust_limit")}
	if _, err := pg.svc.SetProgram(c.Request.Context(), v.Me, in); err != nil {
		return pg.w.Rerender(c, v, err, pg.program)
	}
	return pg.w.Redirect(c, "/loyalty/program", "loyalty.saved")
}

// yuanFen reads a form amount in yuan ("1000" or "1000.50") as fen; 0 when empty.
func yuanFen(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		return 0, false
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 {
		return 0, false
	}
	f := int64(0)
	if frac != "" {
		n, err := strconv.ParseInt((frac + "0")[:2], 10, 64)
		if err != nil {
			return 0, false
		}
		f = n
	}
	return w*100 + f, true
}

func (pg consolePages) postTiers(c *gin.Context, v *web.View) error {
	in := TierProgram{Metric: c.PostForm("metric"), PeriodMonths: int(formInt(c, "period_months")), Downgrade: c.PostForm("downgrade"),
		NoticeDays: int(formInt(c, "notice_days"))}
	names := c.PostFormArray("name")
	for i, name := range names {
		if strings.TrimSpace(name) == "" {
			continue
		}
		t := Tier{Level: len(in.Tiers), Name: strings.TrimSpace(name)}
		get := func(field string) string {
			if vs := c.PostFormArray(field); i < len(vs) {
				return vs[i]
			}
			return ""
		}
		var ok1, ok2 bool
		if in.Metric == MetricGrowth { // growth value is typed in yuan
			t.Threshold, ok1 = yuanFen(get("threshold"))
			t.Retain, ok2 = yuanFen(get("retain"))
		} else {
			t.Threshold, ok1 = atoi64(get("threshold"))
			t.Retain, ok2 = atoi64(get("retain"))
		}
		if !ok1 || !ok2 {
			return pg.w.Rerender(c, v, errs.Invalidf("tiers", "thresholds are numbers"), pg.program)
		}
		m, _ := strconv.Atoi(strings.TrimSpace(get("multiplier_pct")))
		t.MultiplierPct = m
		in.Tiers = append(in.Tiers, t)
	}
	if _, err := pg.svc.SetTierProgram(c.Request.Context(), v.Me, in); err != nil {
		return pg.w.Rerender(c, v, err, pg.program)
	}
	return pg.w.Redirect(c, "/loyalty/program", "loyalty.saved")
}

func atoi64(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

type couponsPage struct {
	Templates []CouponTemplate
	Batches   []CouponBatch
	CanWrite  bool
}

func (pg consolePages) coupons(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	ts, err := pg.svc.CouponTemplates(ctx, v.Me)
	if err != nil {
		return err
	}
	bs, err := pg.svc.CouponBatches(ctx, v.Me)
	if err != nil {
		return err
	}
	return pg.w.Show(c, v, "consumer/coupons", "loyalty.coupons_title", couponsPage{Templates: ts, Batches: bs,
		CanWrite: v.Can(string(identity.PermCampaignWrite))})
}

func (pg consolePages) postTemplate(c *gin.Context, v *web.View) error {
	amount, ok1 := yuanFen(c.PostForm("amount"))
	threshold, ok2 := yuanFen(c.PostForm("threshold"))
	capFen, ok3 := yuanFen(c.PostForm("cap"))
	if strings.HasPrefix(strings.TrimSpace(c.PostForm("cap")), "-") {
		return pg.w.Rerender(c, v, couponInvalid("cap_fen", "the cap is not negative (0: no cap)"), pg.coupons)
	}
	for i, ok := range []bool{ok1, ok2, ok3} {
		if !ok {
			field := []string{"amount_fen", "threshold_fen", "cap_fen"}[i]
			return pg.w.Rerender(c, v, errs.E(errs.KindInvalid, CodeCouponInvalid, "amounts are yuan with up to two decimals").
				WithReason("yuan").WithField(field), pg.coupons)
		}
	}
	t := CouponTemplate{Name: strings.TrimSpace(c.PostForm("name")), Kind: c.PostForm("kind"), AmountFen: amount,
		Percent: int(formInt(c, "percent")), CapFen: capFen, ThresholdFen: threshold, ValidDays: int(formInt(c, "valid_days")),
		Stackable: c.PostForm("stackable") == "on"}
	if t.Kind == CouponPercent {
		t.AmountFen = 0
	}
	if cats := strings.TrimSpace(c.PostForm("categories")); cats != "" {
		for _, cat := range strings.Split(cats, ",") {
			t.Categories = append(t.Categories, strings.TrimSpace(cat))
		}
	}
	if _, err := pg.svc.CreateCouponTemplate(c.Request.Context(), v.Me, t); err != nil {
		return pg.w.Rerender(c, v, err, pg.coupons)
	}
	return pg.w.Redirect(c, "/loyalty/coupons", "loyalty.saved")
}

func (pg consolePages) postBatch(c *gin.Context, v *web.View) error {
	tid, err := uuid.Parse(c.PostForm("template_id"))
	if err != nil {
		return pg.w.Rerender(c, v, couponInvalid("template_id", "choose a template"), pg.coupons)
	}
	b := CouponBatch{TemplateID: tid, Name: strings.TrimSpace(c.PostForm("name")), Stock: int(formInt(c, "stock")),
		PerMember: int(formInt(c, "per_member")), PerDay: int(formInt(c, "per_day")), Claimable: c.PostForm("claimable") == "on"}
	var ok bool
	if b.BudgetFen, ok = yuanFen(c.PostForm("budget")); !ok {
		return pg.w.Rerender(c, v, couponInvalid("budget_fen", "the budget is an amount in yuan"), pg.coupons)
	}
	if _, err := pg.svc.CreateCouponBatch(c.Request.Context(), v.Me, b); err != nil {
		return pg.w.Rerender(c, v, err, pg.coupons)
	}
	return pg.w.Redirect(c, "/loyalty/coupons", "loyalty.saved")
}

type liabilityPage struct {
	L     Liability
	Chart string
}

func (pg consolePages) liability(c *gin.Context, v *web.View) error {
	l, err := pg.svc.Liability(c.Request.Context(), v.Me)
	if err != nil {
		return err
	}
	labels, values := []string{}, []int64{}
	for _, m := range l.ByMonth {
		labels = append(labels, m.Month)
		values = append(values, m.Points)
	}
	chart, err := json.Marshal(map[string]any{"labels": labels, "values": values, "name": v.T("loyalty.expiring_points")})
	if err != nil {
		return err
	}
	v.Charts = true
	return pg.w.Show(c, v, "consumer/liability", "loyalty.liability_title", liabilityPage{L: l, Chart: string(chart)})
}
