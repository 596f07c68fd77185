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

// reclaimRules are what decides a held lead's reclaim day: its pool's rules (or its
// level's, when the pool has rules for the level) and the lead's facts.
type reclaimRules struct {
	followUpDays, unsignedDays, contractEndedDays int32
	stage                                         string
	locked, inApproval                            bool
	claimedAt, lastFollowUp                       *time.Time
	contractEnded                                 *time.Time // the end date of its latest active contract, or the day one was terminated
}

// reclaimOn is the Asia/Shanghai day the rules take the lead back; false when none
// applies. Exempt: locked leads and leads in approval (a contract waiting for its
// discount approval). No follow-up and not signed apply to open leads (not signed,
// in onboarding, live or lost: for not signed, a signed lead is out too); contract
// ended applies whatever the stage but lost.
func (r reclaimRules) reclaimOn() (time.Time, bool) {
	if r.claimedAt == nil || r.locked || r.inApproval || Stage(r.stage) == StageLost {
		return time.Time{}, false
	}
	var due time.Time
	ok := false
	earliest := func(d time.Time) {
		if !ok || d.Before(due) {
			due, ok = d, true
		}
	}
	switch Stage(r.stage) {
	case StageOnboarding, StageLive:
	default:
		if r.followUpDays > 0 {
			last := *r.claimedAt
			if r.lastFollowUp != nil && r.lastFollowUp.After(last) {
				last = *r.lastFollowUp
			}
			earliest(clock.Day(last).AddDate(0, 0, int(r.followUpDays)))
		}
		if r.unsignedDays > 0 && Stage(r.stage) != StageSigned {
			earliest(clock.Day(*r.claimedAt).AddDate(0, 0, int(r.unsignedDays)))
		}
	}
	if r.contractEndedDays > 0 && r.contractEnded != nil {
		y, m, d := r.contractEnded.Date()
		earliest(time.Date(y, m, d, 0, 0, 0, 0, clock.Shanghai).AddDate(0, 0, int(r.contractEndedDays)))
	}
	return due, ok
}

// daysBetween counts the calendar days from day a to day b (both Shanghai midnights).
func daysBetween(a, b time.Time) int {
	ya, ma, da := a.Date()
	yb, mb, db := b.Date()
	return int(time.Date(yb, mb, db, 0, 0, 0, 0, time.UTC).Sub(time.Date(ya, ma, da, 0, 0, 0, 0, time.UTC)).Hours() / 24)
}

// reclaimFact is a held lead with the rules that apply to it.
type reclaimFact struct {
	id, owner  uuid.UUID
	rules      reclaimRules
	remindDays int32
}

// reclaimFacts reads the reclaim rules and facts of the held leads among ids: the
// pool's rules, or its level's; the latest end date of the lead's active or terminated
// contracts; whether a contract waits for approval. The contracts are the merchant
// domain's own table (its renewal and termination belong to contracts.go).
func reclaimFacts(ctx context.Context, db merchantdb.DBTX, ids []uuid.UUID, forUpdate bool) ([]reclaimFact, error) {
	lock := ""
	if forUpdate {
		lock = " FOR UPDATE OF l"
	}
	rows, err := db.Query(ctx, `
SELECT l.id, l.owner_id, l.stage, l.locked, l.claimed_at, l.last_follow_up_at,
    coalesce(lr.reclaim_followup_days, p.reclaim_followup_days), coalesce(lr.reclaim_unsigned_days, p.reclaim_unsigned_days),
    coalesce(lr.reclaim_contract_ended_days, p.reclaim_contract_ended_days), p.remind_days,
    (SELECT max(CASE WHEN c.status = 'terminated' THEN least(c.ends_on, (c.ended_at AT TIME ZONE 'Asia/Shanghai')::date)
                     ELSE c.ends_on END)::timestamp
     FROM merchant.contracts c WHERE c.lead_id = l.id AND c.status IN ('active', 'terminated')),
    EXISTS (SELECT 1 FROM merchant.contracts c WHERE c.lead_id = l.id AND c.status = 'pending_approval')
FROM merchant.leads l
JOIN merchant.pools p ON p.id = l.pool_id
LEFT JOIN merchant.pool_level_rules lr ON lr.pool_id = l.pool_id AND lr.level = l.level
WHERE l.id = ANY($1::uuid[]) AND l.owner_id IS NOT NULL
ORDER BY l.id`+lock, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (reclaimFact, error) {
		var f reclaimFact
		var ended *time.Time
		err := row.Scan(&f.id, &f.owner, &f.rules.stage, &f.rules.locked, &f.rules.claimedAt, &f.rules.lastFollowUp,
			&f.rules.followUpDays, &f.rules.unsignedDays, &f.rules.contractEndedDays, &f.remindDays, &ended, &f.rules.inApproval)
		f.rules.contractEnded = ended
		return f, err
	})
}

// withReclaim fills ReclaimOn and DaysLeft of held leads from their pools' rules.
func (s *Service) withReclaim(ctx context.Context, out []Lead, rows []merchantdb.MerchantLead) error {
	var ids []uuid.UUID
	at := map[uuid.UUID]int{}
	for i, l := range rows {
		if l.OwnerID.Valid {
			ids, at[l.ID] = append(ids, l.ID), i
		}
	}
	if len(ids) == 0 {
		return nil
	}
	facts, err := reclaimFacts(ctx, s.db, ids, false)
	if err != nil {
		return fmt.Errorf("merchant: reclaim days: %w", pg.Classify(err))
	}
	today := clock.Day(s.now())
	for _, f := range facts {
		due, ok := f.rules.reclaimOn()
		if !ok {
			continue
		}
		i := at[f.id]
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
		ids, err := q.ListUnderReclaim(ctx, merchantdb.ListUnderReclaimParams{AfterID: after, MaxRows: 500})
		if err != nil {
			return res, fmt.Errorf("merchant: reclaim: %w", pg.Classify(err))
		}
		facts, err := reclaimFacts(ctx, s.db, ids, false)
		if err != nil {
			return res, fmt.Errorf("merchant: reclaim: %w", pg.Classify(err))
		}
		for _, f := range facts {
			due, ok := f.rules.reclaimOn()
			switch {
			case !ok:
			case !due.After(today):
				done, err := s.reclaimOne(ctx, sys, f.id, f.owner, today)
				if err != nil {
					return res, err
				}
				if done {
					res.Reclaimed++
				}
			case f.remindDays > 0 && daysBetween(today, due) <= int(f.remindDays):
				n, err := q.InsertReminder(ctx, merchantdb.InsertReminderParams{LeadID: f.id, OwnerID: f.owner, DueOn: due, SentAt: s.now()})
				if err != nil {
					return res, fmt.Errorf("merchant: reclaim reminder: %w", pg.Classify(err))
				}
				res.Reminded += int(n)
			}
		}
		if len(ids) < 500 {
			return res, nil
		}
		after = nullUUID(ids[len(ids)-1])
	}
}

// reclaimOne returns one lead to its pool if it is still held by owner and still due
// (checked again under the row lock: a follow-up may have come meanwhile).
func (s *Service) reclaimOne(ctx context.Context, sys *identity.Principal, id, owner uuid.UUID, today time.Time) (bool, error) {
	done := false
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		facts, err := reclaimFacts(ctx, tx, []uuid.UUID{id}, true)
		if err != nil || len(facts) == 0 || facts[0].owner != owner {
			return err
		}
		due, ok := facts[0].rules.reclaimOn()
		if !ok || due.After(today) {
			return nil
		}
		l, err := q.GetLeadForUpdate(ctx, id)
		if err != nil {
			return err
		}
		reason := systemReason(ReasonReclaimDue, "day", due.Format(time.DateOnly))
		if _, err := s.returnToPool(ctx, q, l, EventReclaimed, reason, sys.User.ID); err != nil {
			return err
		}
		done = true
		return record(ctx, tx, sys, "merchant.lead.reclaim", "merchant.lead", l.ID,
			map[string]any{"owner_id": owner}, map[string]any{"owner_id": nil, "reason": reason.Text})
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
