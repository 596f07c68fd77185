package merchant

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Planned visits (拜访计划) on a rep's calendar, their reminders and the rep's to-dos.

// PlanStatus is where a planned visit stands.
type PlanStatus string

const (
	PlanPlanned  PlanStatus = "planned"
	PlanDone     PlanStatus = "done" // a check-in at the shop that day fulfilled it
	PlanCanceled PlanStatus = "canceled"
)

// Plan is a planned visit.
type Plan struct {
	ID          uuid.UUID  `json:"id"`
	LeadID      uuid.UUID  `json:"lead_id"`
	LeadName    string     `json:"lead_name,omitempty"`
	LeadAddress string     `json:"lead_address,omitempty"`
	RepID       uuid.UUID  `json:"rep_id"`
	StartsAt    time.Time  `json:"starts_at"`
	Minutes     int        `json:"minutes"`
	Purpose     string     `json:"purpose"`
	RemindAt    *time.Time `json:"remind_at,omitempty"`
	RemindedAt  *time.Time `json:"reminded_at,omitempty"`
	Status      PlanStatus `json:"status"`
	VisitID     *uuid.UUID `json:"visit_id,omitempty"`
}

func planOf(p merchantdb.MerchantVisitPlan) Plan {
	return Plan{ID: p.ID, LeadID: p.LeadID, RepID: p.RepID, StartsAt: p.StartsAt.UTC(), Minutes: int(p.Minutes), Purpose: p.Purpose,
		RemindAt: p.RemindAt, RemindedAt: p.RemindedAt, Status: PlanStatus(p.Status), VisitID: ptr(p.VisitID)}
}

// NewPlan is a visit to plan. RemindMinutes before the start a reminder goes out
// (a to-do and a notification); 0 for none.
type NewPlan struct {
	StartsAt      time.Time
	Minutes       int
	Purpose       string
	RemindMinutes int
}

// Codes of planning.
const (
	CodePlanInPast = "merchant.plan_in_past"
	CodePlanState  = "merchant.plan_state"
)

func (n *NewPlan) validate(now time.Time) error {
	n.Purpose = strings.TrimSpace(n.Purpose)
	switch {
	case n.StartsAt.IsZero():
		return errs.Invalidf("starts_at", "starts_at is when the visit starts (RFC 3339)")
	case n.StartsAt.Before(now.Add(-5 * time.Minute)):
		return &errs.Error{Kind: errs.KindUnprocessable, Code: CodePlanInPast, Field: "starts_at", Message: "a visit is planned ahead, not in the past"}
	case n.Minutes < 5 || n.Minutes > 600:
		return errs.Invalidf("minutes", "minutes is how long the visit takes, 5 to 600")
	case n.RemindMinutes < 0 || n.RemindMinutes > 24*60:
		return errs.Invalidf("remind_minutes", "remind_minutes is 0 (no reminder) to 1440 minutes before the start")
	case n.Purpose == "":
		return errs.Invalidf("purpose", "say what the visit is for")
	}
	return nil
}

// PlanVisit puts a visit to a lead on the calendar of the rep holding it. The rep
// plans their own leads; a team lead or city manager plans leads of their scope.
func (s *Service) PlanVisit(ctx context.Context, p *identity.Principal, leadID uuid.UUID, n NewPlan) (Plan, error) {
	if err := principal(p); err != nil {
		return Plan{}, err
	}
	now := s.now()
	if err := n.validate(now); err != nil {
		return Plan{}, err
	}
	var out Plan
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, err := writable(ctx, q, p, identity.PermVisitWrite, leadID)
		if err != nil {
			return err
		}
		if !l.OwnerID.Valid {
			return errs.E(errs.KindConflict, "merchant.lead_in_pool", "a visit is planned for a lead a rep holds")
		}
		pl := merchantdb.MerchantVisitPlan{ID: newID(), LeadID: l.ID, RepID: l.OwnerID.UUID, OrgUnitID: l.OrgUnitID,
			StartsAt: n.StartsAt.UTC(), Minutes: int32(n.Minutes), Purpose: n.Purpose, Status: string(PlanPlanned)}
		if n.RemindMinutes > 0 {
			at := pl.StartsAt.Add(-time.Duration(n.RemindMinutes) * time.Minute)
			pl.RemindAt = &at
		}
		if err := q.InsertVisitPlan(ctx, merchantdb.InsertVisitPlanParams{ID: pl.ID, LeadID: pl.LeadID, RepID: pl.RepID,
			OrgUnitID: pl.OrgUnitID, StartsAt: pl.StartsAt, Minutes: pl.Minutes, Purpose: pl.Purpose, RemindAt: pl.RemindAt,
			CreatedBy: p.User.ID, CreatedAt: now}); err != nil {
			return err
		}
		out = planOf(pl)
		out.LeadName, out.LeadAddress = l.Name, l.Address
		return record(ctx, tx, p, "merchant.visit.plan", "merchant.lead", l.ID, nil, out)
	})
	if err != nil {
		return Plan{}, fmt.Errorf("merchant: plan visit: %w", pg.Classify(err))
	}
	return out, nil
}

// CancelPlan takes a planned visit off the calendar (its open to-do with it).
func (s *Service) CancelPlan(ctx context.Context, p *identity.Principal, planID uuid.UUID) (Plan, error) {
	if err := principal(p); err != nil {
		return Plan{}, err
	}
	sc, err := p.Require(identity.PermVisitWrite)
	if err != nil {
		return Plan{}, err
	}
	var out Plan
	err = s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		pl, err := q.GetVisitPlanForUpdate(ctx, planID)
		if err != nil {
			return notFound(err, "merchant.visit_plan")
		}
		if !sc.Allows(identity.Row{Owner: pl.RepID, OrgUnit: pl.OrgUnitID.UUID}) {
			return errs.NotFound("merchant.visit_plan")
		}
		if pl.Status != string(PlanPlanned) {
			return &errs.Error{Kind: errs.KindConflict, Code: CodePlanState, Field: "status",
				Message: "only a planned visit is canceled; this one is " + pl.Status}
		}
		if pl, err = q.SetVisitPlanStatus(ctx, merchantdb.SetVisitPlanStatusParams{ID: pl.ID, Status: string(PlanCanceled)}); err != nil {
			return err
		}
		now := s.now()
		if err := q.DoneTodosOfPlan(ctx, merchantdb.DoneTodosOfPlanParams{PlanID: pl.ID, DoneAt: &now}); err != nil {
			return err
		}
		out = planOf(pl)
		return record(ctx, tx, p, "merchant.visit.cancel_plan", "merchant.lead", pl.LeadID, nil, out)
	})
	if err != nil {
		return Plan{}, fmt.Errorf("merchant: cancel plan: %w", pg.Classify(err))
	}
	return out, nil
}

// fulfilledPlan is the plan a check-in fulfils: the one named, else the rep's planned
// visit to the lead that Shanghai day; uuid.Nil when none.
func (s *Service) fulfilledPlan(ctx context.Context, q *merchantdb.Queries, p *identity.Principal, leadID, planID uuid.UUID, now time.Time) (uuid.UUID, error) {
	if planID != uuid.Nil {
		pl, err := q.GetVisitPlanForUpdate(ctx, planID)
		if err != nil {
			return uuid.Nil, notFound(err, "merchant.visit_plan")
		}
		if pl.RepID != p.User.ID || pl.LeadID != leadID {
			return uuid.Nil, errs.NotFound("merchant.visit_plan")
		}
		if pl.Status != string(PlanPlanned) {
			return uuid.Nil, &errs.Error{Kind: errs.KindConflict, Code: CodePlanState, Field: "plan_id",
				Message: "this planned visit is " + pl.Status}
		}
		return pl.ID, nil
	}
	day := clock.Day(now)
	pl, err := q.OpenPlanOfRep(ctx, merchantdb.OpenPlanOfRepParams{RepID: p.User.ID, LeadID: leadID, DayStart: day, DayEnd: day.AddDate(0, 0, 1)})
	if err != nil {
		if errs.KindOf(pg.Classify(err)) == errs.KindNotFound {
			return uuid.Nil, nil
		}
		return uuid.Nil, err
	}
	return pl.ID, nil
}

// CalendarQuery asks for a day or a week of visits.
type CalendarQuery struct {
	Day    time.Time // any time on the first day wanted (Shanghai); zero: today
	Week   bool      // seven days from Day's Monday, instead of one day
	RepID  uuid.UUID // one rep; uuid.Nil: every rep in scope
	UnitID uuid.UUID // one team; uuid.Nil: every team in scope
}

// Calendar is the planned and made visits of a span of days.
type Calendar struct {
	From time.Time     `json:"from"`
	To   time.Time     `json:"to"`
	Days []CalendarDay `json:"days"`
}

// CalendarDay is one Shanghai day of a calendar.
type CalendarDay struct {
	Date   string  `json:"date"` // 2006-01-02
	Plans  []Plan  `json:"plans"`
	Visits []Visit `json:"visits"`
}

// Calendar returns the planned visits and the check-ins of a day or a week for the
// reps in the caller's scope of merchant.visit.write: a rep's own, a team lead's team,
// a city manager's city.
func (s *Service) Calendar(ctx context.Context, p *identity.Principal, cq CalendarQuery) (Calendar, error) {
	if err := principal(p); err != nil {
		return Calendar{}, err
	}
	sc, err := p.Require(identity.PermVisitWrite)
	if err != nil {
		return Calendar{}, err
	}
	if cq.Day.IsZero() {
		cq.Day = s.now()
	}
	from, n := clock.Day(cq.Day), 1
	if cq.Week {
		from, n = from.AddDate(0, 0, -((int(from.Weekday())+6)%7)), 7
	}
	to := from.AddDate(0, 0, n)
	q := merchantdb.New(s.db)
	plans, err := q.CalendarPlans(ctx, merchantdb.CalendarPlansParams{FromAt: from, ToAt: to, ScopeAll: sc.SeesAll(),
		ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs(), RepID: nullUUID(cq.RepID), UnitID: nullUUID(cq.UnitID)})
	if err != nil {
		return Calendar{}, fmt.Errorf("merchant: calendar: %w", pg.Classify(err))
	}
	visits, err := q.CalendarVisits(ctx, merchantdb.CalendarVisitsParams{FromAt: from, ToAt: to, ScopeAll: sc.SeesAll(),
		ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs(), RepID: nullUUID(cq.RepID), UnitID: nullUUID(cq.UnitID)})
	if err != nil {
		return Calendar{}, fmt.Errorf("merchant: calendar visits: %w", pg.Classify(err))
	}
	cal := Calendar{From: from, To: to}
	index := map[string]int{}
	for i := range n {
		d := from.AddDate(0, 0, i).Format(time.DateOnly)
		index[d] = i
		cal.Days = append(cal.Days, CalendarDay{Date: d, Plans: []Plan{}, Visits: []Visit{}})
	}
	for _, r := range plans {
		pl := planOf(merchantdb.MerchantVisitPlan{ID: r.ID, LeadID: r.LeadID, RepID: r.RepID, OrgUnitID: r.OrgUnitID,
			StartsAt: r.StartsAt, Minutes: r.Minutes, Purpose: r.Purpose, RemindAt: r.RemindAt, RemindedAt: r.RemindedAt,
			Status: r.Status, VisitID: r.VisitID})
		pl.LeadName, pl.LeadAddress = r.LeadName, r.LeadAddress
		i := index[clock.Day(r.StartsAt).Format(time.DateOnly)]
		cal.Days[i].Plans = append(cal.Days[i].Plans, pl)
	}
	for _, r := range visits {
		v := visitOf(merchantdb.MerchantVisit{ID: r.ID, LeadID: r.LeadID, Lat: r.Lat, Lng: r.Lng, DistanceM: r.DistanceM,
			Accepted: r.Accepted, Note: r.Note, ByUser: r.ByUser, At: r.At, AccuracyM: r.AccuracyM, PlanID: r.PlanID,
			OutAt: r.OutAt, OutDistanceM: r.OutDistanceM, SpeedKmh: r.SpeedKmh, Flag: r.Flag})
		v.LeadName = r.LeadName
		i := index[clock.Day(r.At).Format(time.DateOnly)]
		cal.Days[i].Visits = append(cal.Days[i].Visits, v)
	}
	for i := range cal.Days {
		if err := s.photosOf(ctx, q, cal.Days[i].Visits); err != nil {
			return Calendar{}, err
		}
	}
	return cal, nil
}

// Todo is a rep's to-do from a reminder: a planned visit coming up.
type Todo struct {
	ID     uuid.UUID  `json:"id"`
	PlanID uuid.UUID  `json:"plan_id"`
	LeadID uuid.UUID  `json:"lead_id"`
	Title  string     `json:"title"`
	DueAt  time.Time  `json:"due_at"`
	DoneAt *time.Time `json:"done_at,omitempty"`
}

// Todos lists the caller's open to-dos, soonest first.
func (s *Service) Todos(ctx context.Context, p *identity.Principal) ([]Todo, error) {
	if err := principal(p); err != nil {
		return nil, err
	}
	if _, err := p.Require(identity.PermVisitWrite); err != nil {
		return nil, err
	}
	rows, err := merchantdb.New(s.db).OpenRepTodos(ctx, p.User.ID)
	if err != nil {
		return nil, fmt.Errorf("merchant: to-dos: %w", pg.Classify(err))
	}
	out := make([]Todo, len(rows))
	for i, r := range rows {
		out[i] = Todo{ID: r.ID, PlanID: r.PlanID, LeadID: r.LeadID, Title: r.Title, DueAt: r.DueAt.UTC(), DoneAt: r.DoneAt}
	}
	return out, nil
}

// DoneTodo ticks one of the caller's to-dos off; someone else's is not found.
func (s *Service) DoneTodo(ctx context.Context, p *identity.Principal, id uuid.UUID) error {
	if err := principal(p); err != nil {
		return err
	}
	now := s.now()
	n, err := merchantdb.New(s.db).DoneRepTodo(ctx, merchantdb.DoneRepTodoParams{ID: id, RepID: p.User.ID, DoneAt: &now})
	if err != nil {
		return fmt.Errorf("merchant: to-do: %w", pg.Classify(err))
	}
	if n == 0 {
		return errs.NotFound("merchant.todo")
	}
	return nil
}

// SendReminders turns due reminders into to-dos and notifications: the scheduled
// task merchant:visit-reminders. Each reminder goes out once, however many workers
// run it (rows locked, SKIP LOCKED; one to-do per plan). The notifications are sent
// after the commit; one lost to a crash leaves the to-do, which the rep sees.
func (s *Service) SendReminders(ctx context.Context, limit int) (int, error) {
	type note struct {
		rep         uuid.UUID
		title, link string
	}
	var notes []note
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		notes = notes[:0]
		due, err := q.DueReminders(ctx, merchantdb.DueRemindersParams{RemindAt: ptrTime(s.now()), Limit: int32(limit)})
		if err != nil {
			return err
		}
		now := s.now()
		for _, d := range due {
			title := fmt.Sprintf("%s %s · %s", d.StartsAt.In(clock.Shanghai).Format("01-02 15:04"), d.LeadName, d.Purpose)
			if _, err := q.InsertRepTodo(ctx, merchantdb.InsertRepTodoParams{ID: newID(), RepID: d.RepID, PlanID: d.ID, LeadID: d.LeadID,
				Title: title, DueAt: d.StartsAt, CreatedAt: now}); err != nil {
				return err
			}
			if err := q.MarkReminded(ctx, merchantdb.MarkRemindedParams{ID: d.ID, RemindedAt: &now}); err != nil {
				return err
			}
			notes = append(notes, note{rep: d.RepID, title: title, link: "/visits/today"})
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("merchant: reminders: %w", pg.Classify(err))
	}
	notify := s.notify
	if notify == nil {
		notify = LogNotifier{Log: s.log}
	}
	for _, n := range notes {
		if err := notify.Notify(ctx, n.rep, "拜访提醒 Visit reminder", n.title, n.link); err != nil {
			s.log.WarnContext(ctx, "reminder not delivered; the to-do stays", "rep", n.rep, "err", err)
		}
	}
	return len(notes), nil
}

func ptrTime(t time.Time) *time.Time { return &t }

func (s *Service) remindersTask() domain.Task {
	return domain.Task{Type: "merchant:visit-reminders", Cron: "@every 1m", Queue: "default",
		Help: "send the reminders of planned visits that are due: a to-do and a notification to the rep",
		Handle: func(ctx context.Context, _ []byte) error {
			_, err := s.SendReminders(ctx, 500)
			return err
		}}
}

// FlaggedVisit is a check-in flagged as implausible, with its shop.
type FlaggedVisit struct {
	Visit
	RepName string `json:"rep_name"`
}

// FlaggedVisits lists the flagged check-ins of the last days in the caller's scope of
// merchant.lead.read, newest first: for the team lead and the city manager to look at.
func (s *Service) FlaggedVisits(ctx context.Context, p *identity.Principal, days int) ([]FlaggedVisit, error) {
	if err := principal(p); err != nil {
		return nil, err
	}
	sc, err := p.Require(identity.PermLeadRead)
	if err != nil {
		return nil, err
	}
	rows, err := merchantdb.New(s.db).FlaggedVisits(ctx, merchantdb.FlaggedVisitsParams{FromAt: s.now().AddDate(0, 0, -days),
		ScopeAll: sc.SeesAll(), ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs()})
	if err != nil {
		return nil, fmt.Errorf("merchant: flagged visits: %w", pg.Classify(err))
	}
	names := s.namer(ctx)
	reps := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		reps[i] = r.ByUser
	}
	names.load(reps...)
	out := make([]FlaggedVisit, len(rows))
	for i, r := range rows {
		out[i] = FlaggedVisit{Visit: visitOf(merchantdb.MerchantVisit{ID: r.ID, LeadID: r.LeadID, Lat: r.Lat, Lng: r.Lng,
			DistanceM: r.DistanceM, Accepted: r.Accepted, Note: r.Note, ByUser: r.ByUser, At: r.At, AccuracyM: r.AccuracyM,
			PlanID: r.PlanID, OutAt: r.OutAt, OutDistanceM: r.OutDistanceM, SpeedKmh: r.SpeedKmh, Flag: r.Flag})}
		out[i].LeadName = r.LeadName
		out[i].RepName, _ = names.rep(r.ByUser)
	}
	return out, nil
}
