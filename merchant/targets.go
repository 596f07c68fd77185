package merchant

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Monthly targets (signings, live shops, first-month GMV) of reps and teams, and
// their attainment, computed from the pipeline's events: a lead reaching signed or
// live is credited once to the rep holding it (merchant.sales_credits, kept by the
// database on each stage change), and a live merchant's payments and refunds of its
// first 30 days are credited from billing's events (merchant.first_month_gmv).

// Subjects of a target.
const (
	SubjectRep  = "rep"
	SubjectTeam = "team"
)

// Target is a month's target of a rep or a team.
type Target struct {
	Month            string    `json:"month"` // 2006-01
	Subject          string    `json:"subject"`
	SubjectID        uuid.UUID `json:"subject_id"`
	OrgUnitID        uuid.UUID `json:"org_unit_id"`
	Signings         int       `json:"signings"`
	LiveShops        int       `json:"live_shops"`
	FirstMonthGMVFen int64     `json:"first_month_gmv_fen"`
	SetBy            uuid.UUID `json:"set_by"`
	SetAt            time.Time `json:"set_at"`
}

func targetOf(t merchantdb.MerchantSalesTarget) Target {
	return Target{Month: t.Month.Format("2006-01"), Subject: t.Subject, SubjectID: t.SubjectID, OrgUnitID: t.OrgUnitID.UUID,
		Signings: int(t.Signings), LiveShops: int(t.LiveShops), FirstMonthGMVFen: t.FirstMonthGmvFen, SetBy: t.SetBy, SetAt: t.SetAt.UTC()}
}

// NewTarget is what SetTarget takes.
type NewTarget struct {
	Month            string
	Subject          string
	SubjectID        uuid.UUID
	Signings         int
	LiveShops        int
	FirstMonthGMVFen int64
}

// parseMonth reads "2006-01" as the first day of the month.
func parseMonth(field, v string) (time.Time, error) {
	t, err := time.Parse("2006-01", v)
	if err != nil {
		return time.Time{}, errs.Invalidf(field, "%s is a month, 2006-01", field)
	}
	return t, nil
}

// thisMonth is the Shanghai month of now, as parseMonth reads it.
func thisMonth(now time.Time) time.Time {
	d := clock.Day(now)
	return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// SetTarget sets (or replaces) a rep's or a team's target for a month: for team leads
// and city managers (merchant.lead.assign) over reps and teams of their scope.
func (s *Service) SetTarget(ctx context.Context, p *identity.Principal, in NewTarget) (Target, error) {
	if err := principal(p); err != nil {
		return Target{}, err
	}
	sc, err := p.Require(identity.PermLeadAssign)
	if err != nil {
		return Target{}, err
	}
	month, err := parseMonth("month", in.Month)
	if err != nil {
		return Target{}, err
	}
	switch {
	case !slices.Contains([]string{SubjectRep, SubjectTeam}, in.Subject):
		return Target{}, errs.Invalidf("subject", "subject is rep or team")
	case in.SubjectID == uuid.Nil:
		return Target{}, errs.Invalidf("subject_id", "subject_id is the rep's or the team's id")
	case in.Signings < 0 || in.Signings > 100_000:
		return Target{}, errs.Invalidf("signings", "signings is 0 to 100000")
	case in.LiveShops < 0 || in.LiveShops > 100_000:
		return Target{}, errs.Invalidf("live_shops", "live_shops is 0 to 100000")
	case in.FirstMonthGMVFen < 0 || in.FirstMonthGMVFen > 1<<50:
		return Target{}, errs.Invalidf("first_month_gmv_fen", "first_month_gmv_fen is an amount in fen, 0 or more")
	}
	row := identity.Row{OrgUnit: in.SubjectID}
	if in.Subject == SubjectRep {
		m, err := s.member(ctx, in.SubjectID)
		if err != nil {
			return Target{}, errs.NotFound("merchant.rep")
		}
		row = identity.Row{Owner: m.ID, OrgUnit: m.OrgUnitID}
	}
	if !sc.Allows(row) {
		return Target{}, errs.NotFound("merchant." + in.Subject)
	}
	var out Target
	err = s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		t, err := q.UpsertTarget(ctx, merchantdb.UpsertTargetParams{Month: month, Subject: in.Subject, SubjectID: in.SubjectID,
			OrgUnitID: nullUUID(row.OrgUnit), Signings: int32(in.Signings), LiveShops: int32(in.LiveShops),
			FirstMonthGmvFen: in.FirstMonthGMVFen, SetBy: p.User.ID, SetAt: s.now()})
		if err != nil {
			return err
		}
		out = targetOf(t)
		return record(ctx, tx, p, "merchant.target.set", "merchant.target", in.SubjectID, nil, out)
	})
	if err != nil {
		return Target{}, fmt.Errorf("merchant: set target: %w", pg.Classify(err))
	}
	return out, nil
}

// Achieved is what a rep or a team did in a month.
type Achieved struct {
	Signings  int   `json:"signings"`
	LiveShops int   `json:"live_shops"`
	GMVFen    int64 `json:"first_month_gmv_fen"`
}

// AttainmentRow is a rep's or a team's month against its target. Pct are percentages
// of the target (nil without a target or for a target of 0).
type AttainmentRow struct {
	Subject   string    `json:"subject"`
	SubjectID uuid.UUID `json:"subject_id"`
	Name      string    `json:"name"`
	Team      string    `json:"team"`
	Target    *Target   `json:"target,omitempty"`
	Achieved  Achieved  `json:"achieved"`
	// SigningsPct, LivePct, GMVPct: attainment in percent.
	SigningsPct *float64 `json:"signings_pct,omitempty"`
	LivePct     *float64 `json:"live_pct,omitempty"`
	GMVPct      *float64 `json:"gmv_pct,omitempty"`
}

func pct(done, target int64) *float64 {
	if target <= 0 {
		return nil
	}
	v := float64(int64(float64(done)/float64(target)*1000+0.5)) / 10
	return &v
}

// achievements reads a month's credits and first-month GMV by rep, in sc.
func (s *Service) achievements(ctx context.Context, q *merchantdb.Queries, sc identity.Scope, month time.Time) (map[uuid.UUID]Achieved, map[uuid.UUID]uuid.UUID, error) {
	credits, err := q.CreditsByRep(ctx, merchantdb.CreditsByRepParams{Month: month, ScopeAll: sc.SeesAll(),
		ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs()})
	if err != nil {
		return nil, nil, err
	}
	gmv, err := q.GMVByRep(ctx, merchantdb.GMVByRepParams{Month: month, ScopeAll: sc.SeesAll(),
		ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs()})
	if err != nil {
		return nil, nil, err
	}
	byRep, unitOf := map[uuid.UUID]Achieved{}, map[uuid.UUID]uuid.UUID{}
	for _, c := range credits {
		a := byRep[c.RepID.UUID]
		a.Signings += int(c.Signings)
		a.LiveShops += int(c.LiveShops)
		byRep[c.RepID.UUID], unitOf[c.RepID.UUID] = a, c.OrgUnitID.UUID
	}
	for _, g := range gmv {
		a := byRep[g.RepID.UUID]
		a.GMVFen += g.GmvFen
		byRep[g.RepID.UUID], unitOf[g.RepID.UUID] = a, g.OrgUnitID.UUID
	}
	return byRep, unitOf, nil
}

// Attainment is a month's targets against what was achieved, per rep and per team, in
// the caller's scope of merchant.lead.read (a rep sees their own).
func (s *Service) Attainment(ctx context.Context, p *identity.Principal, monthText string) ([]AttainmentRow, error) {
	if err := principal(p); err != nil {
		return nil, err
	}
	sc, err := p.Require(identity.PermLeadRead)
	if err != nil {
		return nil, err
	}
	month := thisMonth(s.now())
	if monthText != "" {
		if month, err = parseMonth("month", monthText); err != nil {
			return nil, err
		}
	}
	q := merchantdb.New(s.db)
	byRep, unitOf, err := s.achievements(ctx, q, sc, month)
	if err != nil {
		return nil, fmt.Errorf("merchant: attainment: %w", pg.Classify(err))
	}
	targets, err := q.ListTargets(ctx, merchantdb.ListTargetsParams{Month: month, ScopeAll: sc.SeesAll(),
		ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs()})
	if err != nil {
		return nil, fmt.Errorf("merchant: targets: %w", pg.Classify(err))
	}
	rows := map[string]*AttainmentRow{}
	key := func(subject string, id uuid.UUID) *AttainmentRow {
		k := subject + id.String()
		if rows[k] == nil {
			rows[k] = &AttainmentRow{Subject: subject, SubjectID: id}
		}
		return rows[k]
	}
	for rep, a := range byRep {
		if rep == uuid.Nil {
			continue
		}
		key(SubjectRep, rep).Achieved = a
		if unit := unitOf[rep]; unit != uuid.Nil {
			t := key(SubjectTeam, unit)
			t.Achieved.Signings += a.Signings
			t.Achieved.LiveShops += a.LiveShops
			t.Achieved.GMVFen += a.GMVFen
		}
	}
	for _, t := range targets {
		tt := targetOf(t)
		key(t.Subject, t.SubjectID).Target = &tt
	}
	out := make([]AttainmentRow, 0, len(rows))
	names := s.namer(ctx)
	reps := make([]uuid.UUID, 0, len(rows))
	for _, r := range rows {
		if r.Subject == SubjectRep {
			reps = append(reps, r.SubjectID)
		}
	}
	names.load(reps...)
	for _, r := range rows {
		if r.Target != nil {
			r.SigningsPct = pct(int64(r.Achieved.Signings), int64(r.Target.Signings))
			r.LivePct = pct(int64(r.Achieved.LiveShops), int64(r.Target.LiveShops))
			r.GMVPct = pct(r.Achieved.GMVFen, r.Target.FirstMonthGMVFen)
		}
		if r.Subject == SubjectRep {
			r.Name, r.Team = names.rep(r.SubjectID)
		} else {
			r.Name, r.Team = names.team(r.SubjectID), ""
		}
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b AttainmentRow) int {
		if a.Subject != b.Subject {
			return -compareStrings(a.Subject, b.Subject) // teams first
		}
		return b.Achieved.Signings - a.Achieved.Signings
	})
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// namer names reps and their teams for reports, asking each user once: load asks for
// a page's reps in one read before its rows are named.
type namer struct {
	ctx   context.Context
	s     *Service
	reps  map[uuid.UUID]StaffMember
	teams map[uuid.UUID]string
}

func (s *Service) namer(ctx context.Context) *namer {
	return &namer{ctx: ctx, s: s, reps: map[uuid.UUID]StaffMember{}, teams: map[uuid.UUID]string{}}
}

// load looks up, in one read, the reps among ids not known yet.
func (n *namer) load(ids ...uuid.UUID) {
	var missing []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, id := range ids {
		if _, ok := n.reps[id]; !ok && id != uuid.Nil && !seen[id] {
			missing, seen[id] = append(missing, id), true
		}
	}
	if len(missing) == 0 || n.s.staff == nil {
		return
	}
	found, err := n.s.staff.StaffMembers(n.ctx, missing)
	if err != nil {
		// Named by their ids rather than by thousands of lookups that would fail alike.
		n.s.log.WarnContext(n.ctx, "merchant: naming reps", "reps", len(missing), "err", err)
	}
	for _, id := range missing {
		m, ok := found[id]
		if !ok {
			m = StaffMember{ID: id, Name: id.String()[:8]}
		}
		n.learn(m)
	}
}

func (n *namer) learn(m StaffMember) {
	n.reps[m.ID] = m
	if m.OrgUnitID != uuid.Nil && m.Team != "" {
		n.teams[m.OrgUnitID] = m.Team
	}
}

func (n *namer) rep(id uuid.UUID) (name, team string) {
	m, ok := n.reps[id]
	if !ok {
		var err error
		if m, err = n.s.member(n.ctx, id); err != nil {
			m = StaffMember{ID: id, Name: id.String()[:8]}
		}
		n.learn(m)
	}
	return m.Name, m.Team
}

func (n *namer) team(id uuid.UUID) string {
	if t, ok := n.teams[id]; ok {
		return t
	}
	if id == uuid.Nil {
		return "—"
	}
	return id.String()[:8]
}

// gmvCredit is a payment (or a refund, negative) told to a merchant's first-month GMV.
type gmvCredit struct {
	merchantID, sourceID uuid.UUID
	amountFen            int64
	at                   time.Time
}

// creditGMV adds a batch's payments and refunds of merchants' first 30 days live to
// their reps' first-month GMV, once per order or refund id: the merchants are read
// once and the credits written in one statement. A merchant not of the CRM (a test's)
// has nothing credited.
func (s *Service) creditGMV(ctx context.Context, tx pgx.Tx, cs []gmvCredit) error {
	q := merchantdb.New(tx)
	ids := make([]uuid.UUID, len(cs))
	for i, c := range cs {
		ids[i] = c.merchantID
	}
	rows, err := q.MerchantsForGMV(ctx, ids)
	if err != nil {
		return fmt.Errorf("merchant: gmv: %w", err)
	}
	liveAt := make(map[uuid.UUID]time.Time, len(rows))
	for _, r := range rows {
		liveAt[r.ID] = r.LiveAt
	}
	var in merchantdb.InsertGMVsParams
	for _, c := range cs {
		live, ok := liveAt[c.merchantID]
		if !ok || c.at.Before(live) || !c.at.Before(live.Add(30*24*time.Hour)) {
			continue
		}
		in.SourceIds, in.MerchantIds, in.Months = append(in.SourceIds, c.sourceID), append(in.MerchantIds, c.merchantID), append(in.Months, thisMonth(live))
		in.AmountsFen, in.Ats = append(in.AmountsFen, c.amountFen), append(in.Ats, c.at)
	}
	if len(in.SourceIds) == 0 {
		return nil
	}
	if err := q.InsertGMVs(ctx, in); err != nil {
		return fmt.Errorf("merchant: gmv: %w", pg.Classify(err))
	}
	return nil
}

// gmvSubscriptions credit first-month GMV from billing's payments and refunds, a batch
// at a time in the batch's delivery transaction (the worker's dispatcher).
func (s *Service) gmvSubscriptions() []outbox.Subscription {
	return []outbox.Subscription{
		{Topic: events.TopicPaymentSucceeded, Subscriber: "merchant.gmv", HandleBatchTx: func(ctx context.Context, tx pgx.Tx, es []events.Envelope) error {
			cs := make([]gmvCredit, len(es))
			for i, e := range es {
				var p events.PaymentSucceeded
				if err := json.Unmarshal(e.Payload, &p); err != nil {
					return fmt.Errorf("merchant: payment event: %w", err)
				}
				cs[i] = gmvCredit{merchantID: p.MerchantID, sourceID: p.OrderID, amountFen: p.AmountFen, at: p.PaidAt}
			}
			return s.creditGMV(ctx, tx, cs)
		}},
		{Topic: events.TopicRefundSucceeded, Subscriber: "merchant.gmv", HandleBatchTx: func(ctx context.Context, tx pgx.Tx, es []events.Envelope) error {
			cs := make([]gmvCredit, len(es))
			for i, e := range es {
				var r events.RefundSucceeded
				if err := json.Unmarshal(e.Payload, &r); err != nil {
					return fmt.Errorf("merchant: refund event: %w", err)
				}
				cs[i] = gmvCredit{merchantID: r.MerchantID, sourceID: r.RefundID, amountFen: -r.RefundFen, at: r.SucceededAt}
			}
			return s.creditGMV(ctx, tx, cs)
		}},
	}
}
