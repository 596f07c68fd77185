package marketing

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/marketing/internal/marketingdb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// How a triggered campaign sends each member at most once per occurrence:
//
//   - The marketing:triggers task looks, for each triggered campaign, for the members
//     whose trigger occurred and who have no trigger_fires row for that occurrence
//     (the birthday's year in Asia/Shanghai, "first" for the first order, the last
//     order's time for a lapse, the change's time for a tier change).
//   - Those in the campaign's segment (and under its frequency cap) get a fires row
//     each and one new run whose audience is exactly them, in one transaction under
//     the campaign's lock: a second tick, or a concurrent one, finds the rows and
//     fires nobody again.
//   - The run is sent like any other (sends.go): exactly once per member and run.
//
// A lapse or tier change counts only if it happened after the campaign started, so a
// new campaign does not fire for every member who lapsed years ago.

// triggerCandidate is a member whose trigger occurred.
type triggerCandidate struct {
	id         uuid.UUID
	seq        uint32
	occurrence string
}

// occurrenceOf is the stored form of a trigger's time (microseconds, UTC), the same
// text the candidate queries compare with.
func occurrenceOf(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

// FireTriggers starts a run for each triggered campaign whose members' triggers
// occurred (the marketing:triggers task); it returns the members fired.
func (s *Service) FireTriggers(ctx context.Context) (int, error) {
	q := marketingdb.New(s.db)
	ids, err := q.TriggeredCampaigns(ctx, s.now())
	if err != nil {
		return 0, fmt.Errorf("marketing: triggered campaigns: %w", err)
	}
	fired := 0
	for _, id := range ids {
		n, err := s.fireCampaign(ctx, id)
		if err != nil {
			return fired, fmt.Errorf("marketing: fire campaign %s: %w", id, err)
		}
		fired += n
	}
	return fired, nil
}

func (s *Service) triggerCandidates(ctx context.Context, c marketingdb.MarketingCampaign) ([]triggerCandidate, error) {
	q := marketingdb.New(s.db)
	now := s.now()
	var out []triggerCandidate
	switch c.TriggerEvent {
	case TriggerBirthday:
		today := now.In(shanghai)
		year := strconv.Itoa(today.Year())
		rows, err := q.BirthdayCandidates(ctx, marketingdb.BirthdayCandidatesParams{Month: int32(today.Month()), Day: int32(today.Day()),
			CampaignID: c.ID, Occurrence: year})
		for _, r := range rows {
			out = append(out, triggerCandidate{r.ConsumerID, uint32(r.Seq), year})
		}
		return out, err
	case TriggerFirstOrder:
		rows, err := q.FirstOrderCandidates(ctx, marketingdb.FirstOrderCandidatesParams{Since: c.StartsAt, CampaignID: c.ID})
		for _, r := range rows {
			out = append(out, triggerCandidate{r.ConsumerID, uint32(r.Seq), "first"})
		}
		return out, err
	case TriggerLapsed:
		lapse := time.Duration(c.TriggerDays) * 24 * time.Hour
		rows, err := q.LapsedCandidates(ctx, marketingdb.LapsedCandidatesParams{LapsedBefore: now.Add(-lapse),
			LapsedSince: c.StartsAt.Add(-lapse), CampaignID: c.ID})
		for _, r := range rows {
			out = append(out, triggerCandidate{r.ConsumerID, uint32(r.Seq), occurrenceOf(r.OccurredAt)})
		}
		return out, err
	case TriggerTierChanged:
		rows, err := q.TierChangedCandidates(ctx, marketingdb.TierChangedCandidatesParams{Since: c.StartsAt, CampaignID: c.ID})
		for _, r := range rows {
			out = append(out, triggerCandidate{r.ConsumerID, uint32(r.Seq), occurrenceOf(r.OccurredAt)})
		}
		return out, err
	}
	return nil, fmt.Errorf("unknown trigger %q", c.TriggerEvent)
}

// fireCampaign fires one campaign's due triggers into one run.
func (s *Service) fireCampaign(ctx context.Context, campaignID uuid.UUID) (int, error) {
	c, err := marketingdb.New(s.db).GetCampaign(ctx, campaignID)
	if err != nil {
		return 0, err
	}
	cands, err := s.triggerCandidates(ctx, c)
	if err != nil || len(cands) == 0 {
		return 0, err
	}
	segment, err := s.segmentMembers(ctx, c.SegmentID)
	if err != nil {
		return 0, err
	}
	audience, err := s.underFrequencyCap(ctx, c, segment)
	if err != nil {
		return 0, err
	}
	var ids []uuid.UUID
	var occs []string
	for _, m := range cands {
		if audience.Contains(m.seq) {
			ids, occs = append(ids, m.id), append(occs, m.occurrence)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	runID := uuid.Must(uuid.NewV7())
	fired := 0
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		fired = 0
		q := marketingdb.New(tx)
		c, err := q.LockCampaign(ctx, campaignID)
		if err != nil {
			return err
		}
		if c.State != StateScheduled && c.State != StateRunning {
			return nil // paused or stopped meanwhile
		}
		now := s.now()
		// The rows written are those no earlier tick wrote: they alone are this run's.
		rows, err := tx.Query(ctx, `INSERT INTO marketing.trigger_fires (campaign_id, consumer_id, occurrence, run_id, fired_at)
SELECT $1, u.consumer_id, u.occurrence, $2, $3 FROM unnest($4::uuid[], $5::text[]) AS u(consumer_id, occurrence)
ON CONFLICT DO NOTHING
RETURNING (SELECT seq FROM marketing.members m WHERE m.consumer_id = trigger_fires.consumer_id)`, campaignID, runID, now, ids, occs)
		if err != nil {
			return err
		}
		run := roaring.New()
		for rows.Next() {
			var seq int32
			if err := rows.Scan(&seq); err != nil {
				return err
			}
			run.Add(uint32(seq))
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if run.IsEmpty() {
			return nil
		}
		var buf bytes.Buffer
		if _, err := run.WriteTo(&buf); err != nil {
			return err
		}
		if err := q.InsertRun(ctx, marketingdb.InsertRunParams{ID: runID, CampaignID: campaignID, StartedAt: now,
			Audience: buf.Bytes(), Total: int64(run.GetCardinality())}); err != nil {
			return err
		}
		fired = int(run.GetCardinality())
		return q.SetCampaignState(ctx, marketingdb.SetCampaignStateParams{ID: campaignID, State: StateRunning})
	})
	return fired, err
}
