package merchant

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Auto-reclaim (掉保): a held lead goes back to its pool when its pool's rules say so.
// Days are calendar days in Asia/Shanghai: a lead claimed or followed up on day D with
// a rule of N days is reclaimed on day D+N (by the first run of the task that day).

// allStages are the stages a filter may name.
var allStages = []Stage{StageLead, StageContacted, StageVisited, StageNegotiating, StageSigned, StageOnboarding, StageLive, StageLost}

// reclaimRules are what decides a held lead's reclaim day.
type reclaimRules struct {
	followUpDays, unsignedDays int32
	stage                      string
	locked                     bool
	claimedAt, lastFollowUp    *time.Time
}

// reclaimOn is the Asia/Shanghai day the rules take the lead back; false when none
// applies (no rule, not held, locked, in approval or closed).
func (r reclaimRules) reclaimOn() (time.Time, bool) {
	if r.claimedAt == nil || r.locked {
		return time.Time{}, false
	}
	switch Stage(r.stage) {
	case StageOnboarding, StageLive, StageLost:
		return time.Time{}, false
	}
	var due time.Time
	ok := false
	if r.followUpDays > 0 {
		last := *r.claimedAt
		if r.lastFollowUp != nil && r.lastFollowUp.After(last) {
			last = *r.lastFollowUp
		}
		due, ok = clock.Day(last).AddDate(0, 0, int(r.followUpDays)), true
	}
	if r.unsignedDays > 0 && Stage(r.stage) != StageSigned {
		d := clock.Day(*r.claimedAt).AddDate(0, 0, int(r.unsignedDays))
		if !ok || d.Before(due) {
			due, ok = d, true
		}
	}
	return due, ok
}

// daysBetween counts the calendar days from day a to day b (both Shanghai midnights).
func daysBetween(a, b time.Time) int {
	ya, ma, da := a.Date()
	yb, mb, db := b.Date()
	return int(time.Date(yb, mb, db, 0, 0, 0, 0, time.UTC).Sub(time.Date(ya, ma, da, 0, 0, 0, 0, time.UTC)).Hours() / 24)
}

// withReclaim fills ReclaimOn and DaysLeft of held leads from their pools' rules.
func (s *Service) withReclaim(ctx context.Context, q *merchantdb.Queries, out []Lead, rows []merchantdb.MerchantLead) error {
	pools := map[uuid.UUID]merchantdb.MerchantPool{}
	today := clock.Day(s.now())
	for i, l := range rows {
		if !l.OwnerID.Valid {
			continue
		}
		pool, ok := pools[l.PoolID]
		if !ok {
			var err error
			if pool, err = q.GetPool(ctx, l.PoolID); err != nil {
				return fmt.Errorf("merchant: reclaim days: %w", pg.Classify(err))
			}
			pools[l.PoolID] = pool
		}
		due, ok := reclaimRules{followUpDays: pool.ReclaimFollowupDays, unsignedDays: pool.ReclaimUnsignedDays, stage: l.Stage,
			locked: l.Locked, claimedAt: l.ClaimedAt, lastFollowUp: l.LastFollowUpAt}.reclaimOn()
		if !ok {
			continue
		}
		day, left := due.Format(time.DateOnly), daysBetween(today, due)
		out[i].ReclaimOn, out[i].DaysLeft = &day, &left
	}
	return nil
}

// ReclaimResult is what one run of the reclaim did.
type ReclaimResult struct {
	Reclaimed int `json:"reclaimed"`
	Reminded  int `json:"reminded"`
}

// TaskReclaim is the scheduled reclaim's task type.
const TaskReclaim = "merchant:reclaim"

func (s *Service) reclaimTask() domain.Task {
	return domain.Task{Type: TaskReclaim, Cron: "@every 30m", Queue: "low",
		Help: "returns held leads to their pools when the pools' reclaim rules say so, and reminds owners before",
		Handle: func(ctx context.Context, _ []byte) error {
			res, err := s.RunReclaim(ctx)
			if err == nil && (res.Reclaimed > 0 || res.Reminded > 0) {
				b, _ := json.Marshal(res)
				s.log.InfoContext(ctx, "merchant reclaim", "result", string(b))
			}
			return err
		}}
}

// RunReclaim reclaims every held lead whose reclaim day has come and reminds, once,
// the owners of leads whose day is within their pool's remind_days. It is idempotent:
// a second run the same day finds nothing more to do (a reclaimed lead is no longer
// held; a reminder is kept once per lead, owner and day). The system is the actor.
func (s *Service) RunReclaim(ctx context.Context) (ReclaimResult, error) {
	var res ReclaimResult
	sys := identity.System()
	q := merchantdb.New(s.db)
	today := clock.Day(s.now())
	after := uuid.NullUUID{}
	for {
		rows, err := q.ListUnderReclaim(ctx, merchantdb.ListUnderReclaimParams{AfterID: after, MaxRows: 500})
		if err != nil {
			return res, fmt.Errorf("merchant: reclaim: %w", pg.Classify(err))
		}
		for _, r := range rows {
			due, ok := reclaimRules{followUpDays: r.ReclaimFollowupDays, unsignedDays: r.ReclaimUnsignedDays, stage: r.Stage,
				claimedAt: r.ClaimedAt, lastFollowUp: r.LastFollowUpAt}.reclaimOn()
			switch {
			case !ok:
			case !due.After(today):
				done, err := s.reclaimOne(ctx, sys, r.ID, r.OwnerID.UUID, today)
				if err != nil {
					return res, err
				}
				if done {
					res.Reclaimed++
				}
			case r.RemindDays > 0 && daysBetween(today, due) <= int(r.RemindDays):
				n, err := q.InsertReminder(ctx, merchantdb.InsertReminderParams{LeadID: r.ID, OwnerID: r.OwnerID.UUID, DueOn: due, SentAt: s.now()})
				if err != nil {
					return res, fmt.Errorf("merchant: reclaim reminder: %w", pg.Classify(err))
				}
				res.Reminded += int(n)
			}
		}
		if len(rows) < 500 {
			return res, nil
		}
		after = nullUUID(rows[len(rows)-1].ID)
	}
}

// reclaimOne returns one lead to its pool if it is still held by owner and still due
// (checked again under the row lock: a follow-up may have come meanwhile).
func (s *Service) reclaimOne(ctx context.Context, sys *identity.Principal, id, owner uuid.UUID, today time.Time) (bool, error) {
	done := false
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, err := q.GetLeadForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if !l.OwnerID.Valid || l.OwnerID.UUID != owner {
			return nil
		}
		pool, err := q.GetPool(ctx, l.PoolID)
		if err != nil {
			return err
		}
		due, ok := reclaimRules{followUpDays: pool.ReclaimFollowupDays, unsignedDays: pool.ReclaimUnsignedDays, stage: l.Stage,
			locked: l.Locked, claimedAt: l.ClaimedAt, lastFollowUp: l.LastFollowUpAt}.reclaimOn()
		if !ok || due.After(today) {
			return nil
		}
		reason := fmt.Sprintf("reclaimed by the pool's rules: due on %s", due.Format(time.DateOnly))
		if _, err := s.returnToPool(ctx, q, l, EventReclaimed, reason, sys.User.ID); err != nil {
			return err
		}
		done = true
		return record(ctx, tx, sys, "merchant.lead.reclaim", "merchant.lead", l.ID,
			map[string]any{"owner_id": owner}, map[string]any{"owner_id": nil, "reason": reason})
	})
	if err != nil {
		return false, fmt.Errorf("merchant: reclaim %s: %w", id, pg.Classify(err))
	}
	return done, nil
}

// Reminder is a warning that a held lead will be reclaimed on a day.
type Reminder struct {
	LeadID uuid.UUID `json:"lead_id"`
	DueOn  string    `json:"due_on"`
	SentAt time.Time `json:"sent_at"`
}

// MyReminders lists the caller's reclaim warnings.
func (s *Service) MyReminders(ctx context.Context, p *identity.Principal) ([]Reminder, error) {
	if err := principal(p); err != nil {
		return nil, err
	}
	if _, err := p.Require(identity.PermLeadRead); err != nil {
		return nil, err
	}
	rows, err := merchantdb.New(s.db).ListReminders(ctx, p.User.ID)
	if err != nil {
		return nil, fmt.Errorf("merchant: reminders: %w", pg.Classify(err))
	}
	out := make([]Reminder, len(rows))
	for i, r := range rows {
		out[i] = Reminder{LeadID: r.LeadID, DueOn: r.DueOn.Format(time.DateOnly), SentAt: r.SentAt.UTC()}
	}
	return out, nil
}
