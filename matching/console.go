package matching

import (
	"embed"
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/web"
)

// Console pages (匹配): the merge review queue and history with approve, reject and undo;
// a consumer's recommendations (and the shops they own) and a merchant's audience, each
// with why. For those who read members (growth); the steps on merges need
// consumer.member.write. The shop match queue (门店匹配) is for onboarding reviewers.

//go:embed console
var consoleFiles embed.FS

func (s *Service) pages() web.Pages {
	files := web.EmbeddedDir(consoleFiles, "console")
	return web.Pages{
		Domain: "matching", Templates: files, Messages: files,
		Nav: []web.NavItem{{ID: "nav-matching", Label: "nav.matching", Href: "/matching/merges?state=review", Perms: []identity.Permission{identity.PermMemberRead},
			Scope: identity.LevelAll},
			{ID: "nav-matching-shops", Label: "nav.matching_shops", Href: "/matching/shops?state=review", Perms: []identity.Permission{identity.PermOnboardingRead}}},
		Mount: func(r gin.IRouter, w *web.Console) {
			pg := matchingPages{svc: s, w: w}
			r.GET("/matching/merges", w.Handle(pg.merges))
			r.POST("/matching/merges/:id/:step", w.Handle(pg.step))
			r.GET("/matching/consumer", w.Handle(pg.consumer))
			r.GET("/matching/audience", w.Handle(pg.audience))
			r.GET("/matching/shops", w.Handle(pg.shops))
			r.POST("/matching/shops/:id/:step", w.Handle(pg.shopStep))
		},
	}
}

type matchingPages struct {
	svc *Service
	w   *web.Console
}

// reasonText is a reason in the user's language.
func reasonText(v *web.View, r Reason) string {
	return v.T("matching.reason_"+r.Kind, "Detail", r.Detail)
}

func reasonsText(v *web.View, rs []Reason) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = reasonText(v, r)
	}
	return strings.Join(parts, " · ")
}

func evidenceText(v *web.View, es []Evidence) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = v.T("matching.evidence_"+e.Kind) + " " + e.Value
	}
	return strings.Join(parts, " · ")
}

type mergeRow struct {
	Merge
	Evidence, Conflicts, State, Confidence, Created string
}

type mergesPage struct {
	State  string
	States []web.Option
	Rows   []mergeRow
	Write  bool
}

func (pg matchingPages) merges(c *gin.Context, v *web.View) error {
	state := c.Query("state")
	list, err := pg.svc.ListMerges(c.Request.Context(), v.Me, state, uuid.Nil, 100)
	if err != nil {
		return err
	}
	page := mergesPage{State: state, Write: v.Can(string(identity.PermMemberWrite))}
	for _, st := range []string{MergeReview, MergeMerged, MergeRejected, MergeUndone} {
		page.States = append(page.States, web.Option{Value: st, Label: v.T("matching.state_" + st), Selected: st == state})
	}
	for _, m := range list {
		page.Rows = append(page.Rows, mergeRow{Merge: m, Evidence: evidenceText(v, m.Evidence), Conflicts: evidenceText(v, m.Conflicts),
			State: v.T("matching.state_" + m.State), Confidence: fmt.Sprintf("%.2f", m.Confidence), Created: v.Time(&m.CreatedAt)})
	}
	return pg.w.Show(c, v, "matching/merges", "matching.merges_title", page)
}

func (pg matchingPages) step(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound(mergeObject)
	}
	steps := map[string]func() (Merge, error){
		"approve": func() (Merge, error) { return pg.svc.Approve(c.Request.Context(), v.Me, id) },
		"reject":  func() (Merge, error) { return pg.svc.Reject(c.Request.Context(), v.Me, id) },
		"undo":    func() (Merge, error) { return pg.svc.Undo(c.Request.Context(), v.Me, id) },
	}
	step, ok := steps[c.Param("step")]
	if !ok {
		return errs.NotFound(mergeObject)
	}
	m, err := step()
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.merges)
	}
	return pg.w.Redirect(c, "/matching/merges?state="+m.State, "matching.flash_"+c.Param("step"))
}

type recRow struct {
	Rank                                 int
	Name, Category, Distance, Score, Why string
}

type consumerPage struct {
	ID        string
	Rows      []recRow
	ColdStart bool
	Shops     []OwnerLink // the shops this consumer owns
}

func (pg matchingPages) consumer(c *gin.Context, v *web.View) error {
	page := consumerPage{ID: strings.TrimSpace(c.Query("id"))}
	if page.ID == "" {
		return pg.w.Show(c, v, "matching/consumer", "matching.consumer_title", page)
	}
	id, err := uuid.Parse(page.ID)
	if err != nil {
		return pg.w.Rerender(c, v, errs.Invalidf("id", "the consumer id is a UUID"), func(c *gin.Context, v *web.View) error {
			return pg.w.Show(c, v, "matching/consumer", "matching.consumer_title", page)
		})
	}
	recs, err := pg.svc.ConsumerRecommendations(c.Request.Context(), v.Me, id, 20)
	if err != nil {
		return err
	}
	if page.Shops, err = pg.svc.ShopsOwnedBy(c.Request.Context(), v.Me, id); err != nil {
		return err
	}
	for i := range page.Shops {
		page.Shops[i].State = v.T("matching.link_" + page.Shops[i].State)
	}
	for _, r := range recs {
		page.ColdStart = page.ColdStart || r.ColdStart
		page.Rows = append(page.Rows, recRow{Rank: r.Rank, Name: r.Name, Category: r.Category, Distance: distanceText(r.DistanceM),
			Score: fmt.Sprintf("%.3f", r.Score), Why: reasonsText(v, r.Reasons)})
	}
	return pg.w.Show(c, v, "matching/consumer", "matching.consumer_title", page)
}

func distanceText(m float64) string {
	switch {
	case m < 0:
		return "—"
	case m == 0:
		return "—"
	case m < 1000:
		return fmt.Sprintf("%.0f m", m)
	}
	return fmt.Sprintf("%.1f km", m/1000)
}

type audienceRow struct {
	Rank                           int
	Consumer, Distance, Score, Why string
}

type audiencePage struct {
	ID   string
	Rows []audienceRow
}

func (pg matchingPages) audience(c *gin.Context, v *web.View) error {
	page := audiencePage{ID: strings.TrimSpace(c.Query("merchant"))}
	show := func(c *gin.Context, v *web.View) error {
		return pg.w.Show(c, v, "matching/audience", "matching.audience_title", page)
	}
	if page.ID == "" {
		return show(c, v)
	}
	id, err := uuid.Parse(page.ID)
	if err != nil {
		return pg.w.Rerender(c, v, errs.NotFound(merchantObject), show)
	}
	if _, err := v.Me.Require(identity.PermMemberRead); err != nil {
		return err
	}
	items, err := pg.svc.Audience(c.Request.Context(), v.Me, id, 100)
	if err != nil {
		return pg.w.Rerender(c, v, err, show)
	}
	for _, a := range items {
		page.Rows = append(page.Rows, audienceRow{Rank: a.Rank, Consumer: a.ConsumerID.String(), Distance: distanceText(a.DistanceM),
			Score: fmt.Sprintf("%.3f", a.Score), Why: reasonsText(v, a.Reasons)})
	}
	return show(c, v)
}

type shopMatchRow struct {
	ShopMatch
	Evidence, State, Confidence, Created string
	AKindText, BKindText                 string // live merchant, lead, imported lead or lost lead
}

type shopsPage struct {
	States []web.Option
	Rows   []shopMatchRow
	Write  bool
}

func (pg matchingPages) shops(c *gin.Context, v *web.View) error {
	state := c.Query("state")
	list, err := pg.svc.ListShopMatches(c.Request.Context(), v.Me, state, 100)
	if err != nil {
		return err
	}
	page := shopsPage{Write: v.Can(string(identity.PermOnboardingReview))}
	for _, st := range []string{LinkReview, LinkLinked, LinkRejected, LinkWithdrawn} {
		page.States = append(page.States, web.Option{Value: st, Label: v.T("matching.link_" + st), Selected: st == state})
	}
	for _, m := range list {
		page.Rows = append(page.Rows, shopMatchRow{ShopMatch: m, Evidence: evidenceText(v, m.Evidence), State: v.T("matching.link_" + m.State),
			Confidence: fmt.Sprintf("%.2f", m.Confidence), Created: v.Time(&m.CreatedAt),
			AKindText: v.T("matching.shop_kind_" + m.AKind), BKindText: v.T("matching.shop_kind_" + m.BKind)})
	}
	return pg.w.Show(c, v, "matching/shops", "matching.shops_title", page)
}

func (pg matchingPages) shopStep(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound(shopMatchObject)
	}
	var link bool
	switch c.Param("step") {
	case "link":
		link = true
	case "reject":
	default:
		return errs.NotFound(shopMatchObject)
	}
	m, err := pg.svc.DecideShopMatch(c.Request.Context(), v.Me, id, link)
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.shops)
	}
	return pg.w.Redirect(c, "/matching/shops?state="+m.State, "matching.flash_shop_"+c.Param("step"))
}
