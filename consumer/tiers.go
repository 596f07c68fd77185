package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Tier metrics and downgrade policies.
const (
	MetricGrowth = "growth" // 成长值: fen paid, net of refunds
	MetricPoints = "points" // points earned (payments and actions), net of reversals

	DowngradeOne       = "one"       // one tier at a time
	DowngradeRecompute = "recompute" // to the tier the period's metric reaches
)

// Tier history reasons.
const (
	TierUpgrade   = "upgrade"
	TierRetain    = "retain"
	TierDowngrade = "downgrade"
	TierManual    = "manual"
)

// Tier is one level of the tier program and its benefit.
type Tier struct {
	Level     int    `json:"level"`
	Name      string `json:"name"`
	Threshold int64  `json:"threshold"` // the metric that reaches it, in the period
	Retain    int64  `json:"retain"`    // 保级: the metric that keeps it at the period's end
	// MultiplierPct multiplies the points a payment earns (150 = ×1.5, rounded down).
	MultiplierPct int `json:"multiplier_pct"`
}

// TierProgram is the tier rules.
type TierProgram struct {
	Metric       string `json:"metric"`
	PeriodMonths int    `json:"period_months"`
	Downgrade    string `json:"downgrade"`
	// NoticeDays: members about to drop a tier are told this many days before their
	// period ends, once per period (0: no notice).
	NoticeDays int       `json:"notice_days"`
	Tiers      []Tier    `json:"tiers"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func tierInvalid(field, format string, args ...any) *errs.Error {
	return errs.E(errs.KindInvalid, CodeTiersInvalid, fmt.Sprintf(format, args...)).WithField(field)
}

// Validate refuses a rule set naming the field: levels 0, 1, 2… with the first
// threshold 0 and every next one higher (no overlapping or descending thresholds),
// retention at most the tier's threshold.
func (p TierProgram) Validate() error {
	switch {
	case p.Metric != MetricGrowth && p.Metric != MetricPoints:
		return tierInvalid("metric", `the metric is "growth" or "points"`)
	case p.PeriodMonths <= 0 || p.PeriodMonths > 60:
		return tierInvalid("period_months", "the evaluation period is 1 to 60 months")
	case p.Downgrade != DowngradeOne && p.Downgrade != DowngradeRecompute:
		return tierInvalid("downgrade", `the downgrade policy is "one" or "recompute"`)
	case p.NoticeDays < 0 || p.NoticeDays > 365:
		return tierInvalid("notice_days", "the notice goes 0 (none) to 365 days before a period ends")
	case len(p.Tiers) == 0 || len(p.Tiers) > 10:
		return tierInvalid("tiers", "1 to 10 tiers")
	}
	for i, t := range p.Tiers {
		f := func(name string) string { return fmt.Sprintf("tiers[%d].%s", i, name) }
		switch {
		case t.Level != i:
			return tierInvalid(f("level"), "levels are 0, 1, 2… in order")
		case t.Name == "" || utf8.RuneCountInString(t.Name) > 40:
			return tierInvalid(f("name"), "a tier's name is 1 to 40 characters")
		case i == 0 && t.Threshold != 0:
			return tierInvalid(f("threshold"), "the first tier is everyone's: its threshold is 0").WithReason("first_threshold")
		case i > 0 && t.Threshold <= p.Tiers[i-1].Threshold:
			return tierInvalid(f("threshold"), "each threshold is above the one before (%s)", p.metricText(p.Tiers[i-1].Threshold)).
				WithReason("threshold_order", p.metricParams(p.Tiers[i-1].Threshold)...)
		case t.Retain < 0 || t.Retain > t.Threshold:
			return tierInvalid(f("retain"), "the retention threshold is 0 to the tier's threshold (%s)", p.metricText(t.Threshold)).
				WithReason("retain", p.metricParams(t.Threshold)...)
		case t.MultiplierPct < 100 || t.MultiplierPct > 1000:
			return tierInvalid(f("multiplier_pct"), "the points multiplier is 100 to 1000 percent")
		}
	}
	return nil
}

// metricText is an amount of the program's metric as a refusal names it: growth is
// paid money, so yuan (with the API's fen beside it), points are points.
func (p TierProgram) metricText(v int64) string {
	if p.Metric == MetricGrowth {
		return fmt.Sprintf("%s yuan, %d fen", money.MustNew(v, money.CNY), v)
	}
	return fmt.Sprintf("%d points", v)
}

// metricParams are an amount of the metric as the catalogues word it: growth as
// "Yuan", points as "Points".
func (p TierProgram) metricParams(v int64) []any {
	if p.Metric == MetricGrowth {
		return []any{"Yuan", money.MustNew(v, money.CNY).String()}
	}
	return []any{"Points", v}
}

// reached is the highest tier metric reaches.
func (p TierProgram) reached(metric int64) int {
	level := 0
	for _, t := range p.Tiers {
		if metric >= t.Threshold {
			level = t.Level
		}
	}
	return level
}

func (p TierProgram) tier(level int) Tier {
	level = max(0, min(level, len(p.Tiers)-1))
	return p.Tiers[level]
}

func (p TierProgram) metricOf(r consumerdb.ConsumerMemberTier) int64 {
	if p.Metric == MetricPoints {
		return r.PeriodPoints
	}
	return r.PeriodGrowth
}

// tierProgram reads the rules and the tiers in one round trip (every credit reads them).
func (s *Service) tierProgram(ctx context.Context, q *consumerdb.Queries) (TierProgram, error) {
	r, err := q.GetTierRules(ctx)
	if err != nil {
		return TierProgram{}, err
	}
	p := TierProgram{Metric: r.Metric, PeriodMonths: int(r.PeriodMonths), Downgrade: r.Downgrade, NoticeDays: int(r.NoticeDays), UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal(r.Tiers, &p.Tiers); err != nil {
		return TierProgram{}, fmt.Errorf("consumer: tiers: %w", err)
	}
	if len(p.Tiers) == 0 {
		p.Tiers = []Tier{{Name: "Member", MultiplierPct: 100}}
	}
	return p, nil
}

// TierProgram is the tier rules (consumer.member.read).
func (s *Service) TierProgram(ctx context.Context, caller *identity.Principal) (TierProgram, error) {
	if _, err := memberScope(caller, identity.PermMemberRead); err != nil {
		return TierProgram{}, err
	}
	p, err := s.tierProgram(ctx, consumerdb.New(s.db))
	return p, wrap("tier program", err)
}

// SetTierProgram replaces the tier rules (consumer.campaign.write, audited). Members
// keep their tier; the new thresholds apply to their next metric change and period end.
func (s *Service) SetTierProgram(ctx context.Context, caller *identity.Principal, in TierProgram) (TierProgram, error) {
	p, err := memberScope(caller, identity.PermCampaignWrite)
	if err != nil {
		return TierProgram{}, err
	}
	if err := in.Validate(); err != nil {
		return TierProgram{}, err
	}
	var out TierProgram
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := consumerdb.New(tx)
		before, err := s.tierProgram(ctx, q)
		if err != nil {
			return err
		}
		if err := q.UpdateTierProgram(ctx, consumerdb.UpdateTierProgramParams{Metric: in.Metric, PeriodMonths: int32(in.PeriodMonths),
			Downgrade: in.Downgrade, UpdatedAt: s.now(), NoticeDays: int32(in.NoticeDays)}); err != nil {
			return err
		}
		if err := q.DeleteTiers(ctx); err != nil {
			return err
		}
		for _, t := range in.Tiers {
			if err := q.InsertTier(ctx, consumerdb.InsertTierParams{Level: int32(t.Level), Name: t.Name, Threshold: t.Threshold,
				Retain: t.Retain, MultiplierPct: int32(t.MultiplierPct)}); err != nil {
				return err
			}
		}
		if out, err = s.tierProgram(ctx, q); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "consumer.tiers.set",
			ObjectType: "consumer.tier_program", ObjectID: "tiers", Before: before, After: out})
	})
	return out, wrap("set tier program", err)
}

// memberTier locks (creating it on first use) a member's tier row. Evaluation periods
// run from the member's joining: the first row starts the period that is current.
func (s *Service) memberTier(ctx context.Context, q *consumerdb.Queries, id uuid.UUID) (consumerdb.ConsumerMemberTier, error) {
	r, err := q.LockMemberTier(ctx, id)
	if !errors.Is(err, pgx.ErrNoRows) {
		return r, err
	}
	m, err := q.GetMember(ctx, id)
	if err != nil {
		return r, err
	}
	prog, err := s.tierProgram(ctx, q)
	if err != nil {
		return r, err
	}
	start := periodStart(m.JoinedAt, prog.PeriodMonths, s.now())
	if err := q.EnsureMemberTier(ctx, consumerdb.EnsureMemberTierParams{ConsumerID: id, PeriodStart: start}); err != nil {
		return r, err
	}
	return q.LockMemberTier(ctx, id)
}

// periodStart is the start of the period of months that now is in, counted from joined.
func periodStart(joined time.Time, months int, now time.Time) time.Time {
	start := joined
	for n := 1; !joined.AddDate(0, n*months, 0).After(now); n++ {
		start = joined.AddDate(0, n*months, 0)
	}
	return start
}

// effectiveLevel is the member's tier with a manual floor still in force.
func (s *Service) effectiveLevel(r consumerdb.ConsumerMemberTier) int {
	if r.FloorUntil != nil && r.FloorUntil.After(s.now()) && r.FloorLevel > r.Level {
		return int(r.FloorLevel)
	}
	return int(r.Level)
}

// addMetric counts growth (fen) and points toward the member's tier and upgrades them
// at once when the period's metric reaches a higher tier. The caller holds the
// member's points row.
func (s *Service) addMetric(ctx context.Context, q *consumerdb.Queries, id uuid.UUID, growth, pts int64) error {
	if growth == 0 && pts == 0 {
		return nil
	}
	add := consumerdb.AddTierMetricParams{Growth: growth, Points: pts, At: s.now(), ConsumerID: id}
	r, err := q.AddTierMetric(ctx, add)
	if errors.Is(err, pgx.ErrNoRows) { // the member's first metric: their tier row is made first
		if _, err := s.memberTier(ctx, q, id); err != nil {
			return err
		}
		r, err = q.AddTierMetric(ctx, add)
	}
	if err != nil {
		return err
	}
	return s.upgradeTo(ctx, q, r)
}

// upgrade recomputes the tier a member's metric reached and upgrades them to it
// (never down: that is the period's end).
func (s *Service) upgrade(ctx context.Context, q *consumerdb.Queries, id uuid.UUID) error {
	r, err := q.LockMemberTier(ctx, id)
	if err != nil {
		return err
	}
	return s.upgradeTo(ctx, q, r)
}

func (s *Service) upgradeTo(ctx context.Context, q *consumerdb.Queries, r consumerdb.ConsumerMemberTier) error {
	prog, err := s.tierProgram(ctx, q)
	if err != nil {
		return err
	}
	metric := prog.metricOf(r)
	if to := prog.reached(metric); to > int(r.Level) {
		return s.changeTier(ctx, q, r.ConsumerID, int(r.Level), to, TierUpgrade, metric, "")
	}
	return nil
}

func (s *Service) changeTier(ctx context.Context, q *consumerdb.Queries, id uuid.UUID, from, to int, reason string, metric int64, note string) error {
	if from != to {
		if err := q.SetMemberLevel(ctx, consumerdb.SetMemberLevelParams{ConsumerID: id, Level: int32(to), UpdatedAt: s.now()}); err != nil {
			return err
		}
	}
	return s.recordTierChange(ctx, q, consumerdb.InsertTierHistoryParams{ID: s.newID(), ConsumerID: id, FromLevel: int32(from),
		ToLevel: int32(to), Reason: reason, Metric: metric, Note: note, At: s.now()})
}

// multiplier is the points multiplier of the member's tier, in percent (memberTiers
// has the rule, for one member here and for a batch's members in onPaymentsEarn).
func (s *Service) multiplier(ctx context.Context, q *consumerdb.Queries, id uuid.UUID) (int64, error) {
	t := memberTiers{s: s, q: q, rows: map[uuid.UUID]consumerdb.ConsumerMemberTier{}}
	if err := t.reread(ctx, id); err != nil {
		return 0, err
	}
	return t.multiplier(ctx, id)
}

// TierStatus is a member's tier and progress.
type TierStatus struct {
	Tier         Tier       `json:"tier"`   // in force (a manual floor included)
	Earned       int        `json:"earned"` // the level the metric earned
	Metric       string     `json:"metric"`
	PeriodMetric int64      `json:"period_metric"`
	PeriodStart  time.Time  `json:"period_start"`
	PeriodEnd    time.Time  `json:"period_end"`
	Next         *Tier      `json:"next,omitempty"`
	ToNext       int64      `json:"to_next,omitempty"`   // metric still missing for the next tier
	ToRetain     int64      `json:"to_retain,omitempty"` // metric still missing to keep the tier at the period's end
	FloorLevel   int        `json:"floor_level,omitempty"`
	FloorUntil   *time.Time `json:"floor_until,omitempty"`
}

// MemberTier is a member's tier and progress: the published read for other parts
// (consumer/marketing). It takes no caller; callers check their own access.
func (s *Service) MemberTier(ctx context.Context, id uuid.UUID) (TierStatus, error) {
	q := consumerdb.New(s.db)
	m, err := s.memberRow(ctx, id)
	if err != nil {
		return TierStatus{}, err
	}
	prog, err := s.tierProgram(ctx, q)
	if err != nil {
		return TierStatus{}, wrap("tier", err)
	}
	r, err := q.GetMemberTier(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		r = consumerdb.ConsumerMemberTier{ConsumerID: id, PeriodStart: periodStart(m.JoinedAt, prog.PeriodMonths, s.now())}
	} else if err != nil {
		return TierStatus{}, wrap("tier", err)
	}
	lvl := s.effectiveLevel(r)
	st := TierStatus{Tier: prog.tier(lvl), Earned: int(r.Level), Metric: prog.Metric, PeriodMetric: prog.metricOf(r),
		PeriodStart: r.PeriodStart, PeriodEnd: r.PeriodStart.AddDate(0, prog.PeriodMonths, 0)}
	if lvl+1 < len(prog.Tiers) {
		next := prog.Tiers[lvl+1]
		st.Next, st.ToNext = &next, max(next.Threshold-st.PeriodMetric, 0)
	}
	st.ToRetain = max(st.Tier.Retain-st.PeriodMetric, 0)
	if r.FloorUntil != nil && r.FloorUntil.After(s.now()) {
		st.FloorLevel, st.FloorUntil = int(r.FloorLevel), r.FloorUntil
	}
	return st, nil
}

// TierChange is one line of a member's tier history.
type TierChange struct {
	From   int       `json:"from"`
	To     int       `json:"to"`
	Reason string    `json:"reason"`
	Metric int64     `json:"metric"`
	Note   string    `json:"note,omitempty"`
	At     time.Time `json:"at"`
}

// TierHistory is a member's tier changes, newest first (consumer.member.read).
func (s *Service) TierHistory(ctx context.Context, caller *identity.Principal, id uuid.UUID) ([]TierChange, error) {
	if _, err := memberScope(caller, identity.PermMemberRead); err != nil {
		return nil, err
	}
	return s.tierHistory(ctx, id)
}

func (s *Service) tierHistory(ctx context.Context, id uuid.UUID) ([]TierChange, error) {
	rows, err := consumerdb.New(s.db).TierHistory(ctx, id)
	if err != nil {
		return nil, wrap("tier history", err)
	}
	out := make([]TierChange, len(rows))
	for i, r := range rows {
		out[i] = TierChange{From: int(r.FromLevel), To: int(r.ToLevel), Reason: r.Reason, Metric: r.Metric, Note: r.Note, At: r.At}
	}
	return out, nil
}

// SetTierFloor sets a member's tier by hand: it acts as a floor until the date, after
// which the metric decides again (consumer.member.write, audited, in the history).
func (s *Service) SetTierFloor(ctx context.Context, caller *identity.Principal, id uuid.UUID, level int, until time.Time, note string) error {
	p, err := memberScope(caller, identity.PermMemberWrite)
	if err != nil {
		return err
	}
	if !until.After(s.now()) {
		return errs.Invalidf("until", "the floor lasts until a date in the future")
	}
	if note == "" {
		return errs.Invalidf("note", "give a reason")
	}
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := consumerdb.New(tx)
		if _, err := lock(ctx, q, id); errors.Is(err, errNotMember) {
			return errs.NotFound(objMember)
		} else if err != nil {
			return err
		}
		prog, err := s.tierProgram(ctx, q)
		if err != nil {
			return err
		}
		if level < 0 || level >= len(prog.Tiers) {
			return errs.Invalidf("level", "the level is 0 to %d", len(prog.Tiers)-1)
		}
		r, err := s.memberTier(ctx, q, id)
		if err != nil {
			return err
		}
		if err := q.SetTierFloor(ctx, consumerdb.SetTierFloorParams{ConsumerID: id, FloorLevel: int32(level), FloorUntil: &until, UpdatedAt: s.now()}); err != nil {
			return err
		}
		if err := s.recordTierChange(ctx, q, consumerdb.InsertTierHistoryParams{ID: s.newID(), ConsumerID: id, FromLevel: int32(s.effectiveLevel(r)),
			ToLevel: int32(level), Reason: TierManual, Metric: prog.metricOf(r), Note: note + " (until " + until.In(shanghai).Format(time.DateOnly) + ")", At: s.now()}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "consumer.member.tier_floor", ObjectType: objMember,
			ObjectID: id.String(), After: map[string]any{"level": level, "until": until, "note": note}})
	})
	return wrap("set tier floor", err)
}

// EvaluatePeriods ends the evaluation periods that are over: a member whose period
// metric reached their tier's retention threshold keeps it; anyone else drops one
// tier, or to the tier the metric reaches (the program's policy); a new period
// starts with the metric at zero. Idempotent: a period ends once.
func (s *Service) EvaluatePeriods(ctx context.Context) (JobResult, error) {
	var res JobResult
	for {
		var n int
		err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
			q := consumerdb.New(tx)
			prog, err := s.tierProgram(ctx, q)
			if err != nil {
				return err
			}
			rows, err := q.PeriodsEnded(ctx, consumerdb.PeriodsEndedParams{StartedBefore: s.now().AddDate(0, -prog.PeriodMonths, 0), Lim: jobBatch})
			if err != nil {
				return err
			}
			n = len(rows)
			for _, r := range rows {
				metric, from := prog.metricOf(r), int(r.Level)
				to, reason := from, TierRetain
				if metric < prog.tier(from).Retain {
					reason = TierDowngrade
					to = prog.reached(metric)
					if prog.Downgrade == DowngradeOne {
						to = max(from-1, to)
					}
				}
				if err := q.NewTierPeriod(ctx, consumerdb.NewTierPeriodParams{ConsumerID: r.ConsumerID, Level: int32(to),
					PeriodStart: r.PeriodStart.AddDate(0, prog.PeriodMonths, 0), UpdatedAt: s.now()}); err != nil {
					return err
				}
				if from == 0 && to == 0 {
					continue // nothing to tell of the base tier
				}
				if err := s.recordTierChange(ctx, q, consumerdb.InsertTierHistoryParams{ID: s.newID(), ConsumerID: r.ConsumerID,
					FromLevel: int32(from), ToLevel: int32(to), Reason: reason, Metric: metric, At: s.now()}); err != nil {
					return err
				}
				res.Members++
			}
			return nil
		})
		if err != nil {
			return res, wrap("evaluate tier periods", err)
		}
		if n < jobBatch {
			return res, nil
		}
	}
}

// NoticeDrops publishes consumer.tier_drop_expected for each member whose evaluation
// period ends within the program's notice window and whose period metric is below
// their tier's retention threshold (unless a floor keeps them past the period's end),
// saying how much is missing: once per member and period, however often it runs (the
// member is marked in the same transaction). The member is told too: the notice is
// in their notices (MyNotices, the mini-program) and on their 360.
func (s *Service) NoticeDrops(ctx context.Context) (JobResult, error) {
	var res JobResult
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		res = JobResult{}
		q := consumerdb.New(tx)
		prog, err := s.tierProgram(ctx, q)
		if err != nil || prog.NoticeDays == 0 {
			return err
		}
		now := s.now()
		rows, err := q.MarkDropNotices(ctx, consumerdb.MarkDropNoticesParams{PeriodMonths: int32(prog.PeriodMonths), Now: now,
			Horizon: now.AddDate(0, 0, prog.NoticeDays), Metric: prog.Metric})
		if err != nil {
			return err
		}
		for _, r := range rows {
			// told to the member (their notices) and to other parts (the event), together
			if err := q.InsertTierDropNotice(ctx, consumerdb.InsertTierDropNoticeParams{ID: s.newID(), ConsumerID: r.ConsumerID,
				Tier: r.Name, Metric: prog.Metric, Missing: r.Retain - r.Metric, PeriodEnd: r.PeriodEnd, CreatedAt: now}); err != nil {
				return err
			}
			if _, err := outbox.Publish(ctx, tx, events.TopicTierDropExpected, r.ConsumerID.String(), events.TierDropExpected{
				ConsumerID: r.ConsumerID, Level: int(r.Level), Tier: r.Name, Metric: prog.Metric, Missing: r.Retain - r.Metric,
				PeriodEnd: r.PeriodEnd}); err != nil {
				return err
			}
			res.Members++
		}
		return nil
	})
	return res, wrap("notice tier drops", err)
}
