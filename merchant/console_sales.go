package merchant

import (
	"encoding/json"
	"fmt"
	"html/template"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/web"
)

// ---- contracts ----

type contractsPage struct {
	ToOnboard []Lead
	Expiring  []expiringRow
	Days      int
}

type expiringRow struct {
	Expiring
	Rate string
}

func (pg fieldPages) contracts(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	days := 60
	if d := c.Query("days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil {
			return errs.Invalidf("days", "days is a number of days")
		}
		days = n
	}
	exp, err := pg.svc.ExpiringContracts(ctx, v.Me, days)
	if err != nil {
		return err
	}
	p := contractsPage{Days: days}
	for _, e := range exp {
		p.Expiring = append(p.Expiring, expiringRow{Expiring: e, Rate: e.CommissionText})
	}
	if v.Me.Can(identity.PermLeadRead) {
		for _, st := range []Stage{StageSigned, StageOnboarding} {
			leads, _, err := pg.svc.ListLeads(ctx, v.Me, LeadFilter{Stage: st, Limit: 100})
			if err != nil {
				return err
			}
			p.ToOnboard = append(p.ToOnboard, leads...)
		}
	}
	return pg.w.Show(c, v, "field/contracts", "fw.contracts_title", p)
}

type contractPage struct {
	Lead         Lead
	Contracts    []Contract
	Current      *Contract
	CanRenew     bool
	CanTerminate bool
	NextStart    string
}

func (pg fieldPages) contract(c *gin.Context, v *web.View) error {
	id, err := pathID(c, "merchant.lead")
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	lead, err := pg.svc.GetLead(ctx, v.Me, id)
	if err != nil {
		return err
	}
	hist, err := pg.svc.ContractHistory(ctx, v.Me, id)
	if err != nil {
		return err
	}
	p := contractPage{Lead: lead, Contracts: hist}
	for i := range hist {
		if hist[i].Status == ContractActive {
			p.Current = &hist[i]
			end, _ := time.Parse(time.DateOnly, hist[i].EndsOn)
			p.NextStart = end.AddDate(0, 0, 1).Format(time.DateOnly)
		}
	}
	p.CanRenew = p.Current != nil && v.Me.Can(identity.PermContractWrite)
	p.CanTerminate = p.Current != nil && v.Me.Can(identity.PermContractApprove)
	return pg.w.Show(c, v, "field/contract", "fw.contract_title", p)
}

func (pg fieldPages) postContract(c *gin.Context, v *web.View) error {
	id, err := pathID(c, "merchant.lead")
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	switch c.PostForm("action") {
	case "renew":
		deposit := int64(0)
		if y := c.PostForm("deposit_yuan"); y != "" {
			m, perr := money.ParseYuan(y)
			if perr != nil {
				return pg.w.Rerender(c, v, errs.Invalidf("deposit_yuan", "the deposit is an amount in yuan"), pg.contract)
			}
			deposit = m.Fen()
		}
		_, err = pg.svc.RenewContract(ctx, v.Me, id, NewContract{CommissionRate: c.PostForm("commission_rate"),
			SettlementCycle: Cycle(c.PostForm("settlement_cycle")), StartsOn: c.PostForm("starts_on"), EndsOn: c.PostForm("ends_on"), DepositFen: deposit})
	case "terminate":
		_, err = pg.svc.TerminateContract(ctx, v.Me, id, c.PostForm("reason"))
	default:
		err = errs.Invalidf("action", "action is renew or terminate")
	}
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.contract)
	}
	return pg.w.Redirect(c, "/contracts/"+id.String(), "fw.contract_saved")
}

// ---- targets ----

type targetsPage struct {
	Month    string
	Rows     []attainmentView
	CanSet   bool
	Subjects []web.Option
	Chart    template.JS
}

type attainmentView struct {
	AttainmentRow
	Kind, Target, Signings, Live, GMV string
}

func pctText(p *float64) string {
	if p == nil {
		return "—"
	}
	return strconv.FormatFloat(*p, 'f', -1, 64) + "%"
}

func chartJSON(v any) template.JS {
	b, _ := json.Marshal(v)
	return template.JS(b) // marshalled JSON: safe in an attribute html/template quotes
}

func (pg fieldPages) targets(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	month := c.DefaultQuery("month", thisMonth(pg.svc.now()).Format("2006-01"))
	rows, err := pg.svc.Attainment(ctx, v.Me, month)
	if err != nil {
		return err
	}
	p := targetsPage{Month: month, CanSet: v.Me.Can(identity.PermLeadAssign)}
	var labels []string
	var sign, live []any
	for _, r := range rows {
		av := attainmentView{AttainmentRow: r, Kind: v.T("fw.subject_" + r.Subject), Signings: pctText(r.SigningsPct),
			Live: pctText(r.LivePct), GMV: pctText(r.GMVPct)}
		if r.Target != nil {
			av.Target = fmt.Sprintf("%d / %d / ¥%s", r.Target.Signings, r.Target.LiveShops, web.Yuan(r.Target.FirstMonthGMVFen))
		}
		p.Rows = append(p.Rows, av)
		if r.Subject == SubjectRep && r.Target != nil {
			labels = append(labels, r.Name)
			sign = append(sign, pctOrZero(r.SigningsPct))
			live = append(live, pctOrZero(r.LivePct))
		}
	}
	if len(labels) > 0 {
		v.Charts = true
		p.Chart = chartJSON(map[string]any{"option": map[string]any{
			"tooltip": map[string]any{"trigger": "axis"}, "legend": map[string]any{},
			"grid":  map[string]any{"left": 40, "right": 16, "top": 32, "bottom": 40},
			"xAxis": map[string]any{"type": "category", "data": labels}, "yAxis": map[string]any{"type": "value", "name": "%"},
			"series": []any{map[string]any{"type": "bar", "name": v.T("fw.signings"), "data": sign},
				map[string]any{"type": "bar", "name": v.T("fw.live_shops"), "data": live}}}})
	}
	if p.CanSet && pg.svc.staff != nil {
		reps, err := pg.svc.staff.Reps(ctx, v.Me)
		if err != nil {
			return err
		}
		teams := map[uuid.UUID]bool{}
		names := pg.svc.namer(ctx)
		for _, r := range reps {
			p.Subjects = append(p.Subjects, web.Option{Value: "rep:" + r.ID.String(), Label: v.T("fw.subject_rep") + " · " + r.Name})
			if r.OrgUnitID != uuid.Nil && !teams[r.OrgUnitID] {
				teams[r.OrgUnitID] = true
				names.rep(r.ID)
				p.Subjects = append(p.Subjects, web.Option{Value: "team:" + r.OrgUnitID.String(), Label: v.T("fw.subject_team") + " · " + names.team(r.OrgUnitID)})
			}
		}
	}
	return pg.w.Show(c, v, "field/targets", "fw.targets_title", p)
}

func pctOrZero(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func (pg fieldPages) postTarget(c *gin.Context, v *web.View) error {
	kind, id, _ := cutSubject(c.PostForm("subject"))
	subject, err := uuid.Parse(id)
	if err != nil {
		return pg.w.Rerender(c, v, errs.Invalidf("subject", "choose a rep or a team"), pg.targets)
	}
	atoi := func(name string) int { n, _ := strconv.Atoi(c.PostForm(name)); return n }
	gmv := int64(0)
	if y := c.PostForm("gmv_yuan"); y != "" {
		m, err := money.ParseYuan(y)
		if err != nil {
			return pg.w.Rerender(c, v, errs.Invalidf("gmv_yuan", "the GMV target is an amount in yuan"), pg.targets)
		}
		gmv = m.Fen()
	}
	month := c.PostForm("month")
	if _, err := pg.svc.SetTarget(c.Request.Context(), v.Me, NewTarget{Month: month, Subject: kind, SubjectID: subject,
		Signings: atoi("signings"), LiveShops: atoi("live_shops"), FirstMonthGMVFen: gmv}); err != nil {
		return pg.w.Rerender(c, v, err, pg.targets)
	}
	return pg.w.Redirect(c, "/targets?month="+month, "fw.target_saved")
}

func cutSubject(v string) (kind, id string, ok bool) {
	for i := range len(v) {
		if v[i] == ':' {
			return v[:i], v[i+1:], true
		}
	}
	return "", v, false
}

// ---- commission ----

type commissionPage struct {
	Runs       []runView
	Teams      []web.Option
	Month      string
	CanCompute bool
}

type runView struct {
	CommissionRun
	State, Total, At string
}

func (pg fieldPages) runView(v *web.View, r CommissionRun) runView {
	return runView{CommissionRun: r, State: v.T("fw.run_" + r.State), Total: web.Yuan(r.TotalFen), At: v.Time(r.ComputedAt)}
}

func (pg fieldPages) commission(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	runs, err := pg.svc.CommissionRuns(ctx, v.Me)
	if err != nil {
		return err
	}
	last := thisMonth(pg.svc.now()).AddDate(0, -1, 0)
	p := commissionPage{Month: last.Format("2006-01"), CanCompute: v.Me.Can(identity.PermLeadAssign)}
	for _, r := range runs {
		p.Runs = append(p.Runs, pg.runView(v, r))
	}
	if p.CanCompute && pg.svc.staff != nil {
		reps, err := pg.svc.staff.Reps(ctx, v.Me)
		if err != nil {
			return err
		}
		seen := map[uuid.UUID]bool{}
		names := pg.svc.namer(ctx)
		for _, r := range reps {
			if r.OrgUnitID != uuid.Nil && !seen[r.OrgUnitID] {
				seen[r.OrgUnitID] = true
				names.rep(r.ID)
				p.Teams = append(p.Teams, web.Option{Value: r.OrgUnitID.String(), Label: names.team(r.OrgUnitID)})
			}
		}
	}
	return pg.w.Show(c, v, "field/commission", "fw.commission_title", p)
}

func (pg fieldPages) postCommission(c *gin.Context, v *web.View) error {
	unit, err := optionalID(c.PostForm("org_unit_id"), "org_unit_id")
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.commission)
	}
	run, err := pg.svc.ComputeCommission(c.Request.Context(), v.Me, c.PostForm("month"), unit)
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.commission)
	}
	return pg.w.Redirect(c, "/commission/"+run.ID.String(), "fw.commission_computed")
}

type commissionRunPage struct {
	Run   runView
	Lines []lineView
}

type lineView struct {
	CommissionLine
	GMV, Amount string
}

func (pg fieldPages) commissionRun(c *gin.Context, v *web.View) error {
	id, err := pathID(c, "merchant.commission_run")
	if err != nil {
		return err
	}
	run, err := pg.svc.GetCommission(c.Request.Context(), v.Me, id)
	if err != nil {
		return err
	}
	p := commissionRunPage{Run: pg.runView(v, run)}
	for _, l := range run.Lines {
		p.Lines = append(p.Lines, lineView{CommissionLine: l, GMV: web.Yuan(l.Achieved.GMVFen), Amount: web.Yuan(l.AmountFen)})
	}
	return pg.w.Show(c, v, "field/commission_run", "fw.commission_title", p)
}

func commissionColumns() []web.Column[CommissionLine] {
	return []web.Column[CommissionLine]{
		{Header: "fw.rep", Cell: func(l CommissionLine) string { return l.Name }},
		{Header: "fw.signings", Cell: func(l CommissionLine) string { return strconv.Itoa(l.Achieved.Signings) }},
		{Header: "fw.live_shops", Cell: func(l CommissionLine) string { return strconv.Itoa(l.Achieved.LiveShops) }},
		{Header: "fw.gmv_yuan", Cell: func(l CommissionLine) string { return web.Yuan(l.Achieved.GMVFen) }},
		{Header: "fw.amount_yuan", Cell: func(l CommissionLine) string { return web.Yuan(l.AmountFen) }},
	}
}

func (pg fieldPages) commissionCSV(c *gin.Context, v *web.View) error {
	id, err := pathID(c, "merchant.commission_run")
	if err != nil {
		return err
	}
	run, err := pg.svc.GetCommission(c.Request.Context(), v.Me, id)
	if err != nil {
		return err
	}
	return csvOf(pg, c, v, "commission-"+run.Month+".csv", commissionColumns(), run.Lines)
}

// csvOf downloads rows as a CSV with translated headers.
func csvOf[T any](pg fieldPages, c *gin.Context, v *web.View, name string, cols []web.Column[T], rows []T) error {
	return pg.w.CSV(c, name, func() error {
		return web.WriteCSV(c.Writer, cols, func(k string) string { return v.T(k) }, func(each func(T) error) error {
			for _, r := range rows {
				if err := each(r); err != nil {
					return err
				}
			}
			return nil
		})
	})
}
