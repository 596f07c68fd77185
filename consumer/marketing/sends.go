package marketing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/tandemcrm/tandem/consumer/marketing/internal/marketingdb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// How a send is exactly once:
//
//   - A run freezes its audience (a bitmap of member seqs, the frequency cap applied)
//     when it starts, so every retry works on the same members.
//   - The run is sent in batches of consecutive seqs by whoever holds its lease
//     (campaign_runs.lease_until, renewed every batch; a killed worker's lease runs
//     out and the next marketing:campaigns tick takes over).
//   - A batch writes one sends row per member (PRIMARY KEY (run_id, consumer_id),
//     ON CONFLICT DO NOTHING), then issues the treatment's offers with the key
//     "<run>:<member>", which the issuer honours at most once, then advances
//     next_seq past the batch (only if nobody else did). A batch interrupted anywhere
//     is redone whole: rows already there stay, offers already issued are not issued
//     again.
//   - Arms are a hash of (campaign, member): the same member is control in every run
//     of a campaign and in every retry.

// leaseFor is how long a sender holds a run between two batches.
const leaseFor = time.Minute

// inControl says whether a member is in a campaign's control group.
func inControl(campaign, member uuid.UUID, holdoutPct int32) bool {
	h := fnv.New64a()
	h.Write(campaign[:])
	h.Write(member[:])
	return h.Sum64()%10000 < uint64(holdoutPct)*100
}

// RunDue starts the runs of the campaigns that are due and sends every run not
// leased by another sender, until done or ctx ends (the marketing:campaigns task).
func (s *Service) RunDue(ctx context.Context) error {
	q := marketingdb.New(s.db)
	due, err := q.DueCampaigns(ctx, ptr(s.now()))
	if err != nil {
		return fmt.Errorf("marketing: due campaigns: %w", err)
	}
	for _, id := range due {
		if _, err := s.startRun(ctx, id); err != nil {
			s.log.ErrorContext(ctx, "marketing: start a campaign run", "campaign", id, "err", err)
		}
	}
	runs, err := q.RunsToSend(ctx, ptr(s.now()))
	if err != nil {
		return fmt.Errorf("marketing: runs to send: %w", err)
	}
	for _, id := range runs {
		if err := s.SendRun(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// startRun freezes a due campaign's audience into a new run and schedules the next.
func (s *Service) startRun(ctx context.Context, campaignID uuid.UUID) (uuid.UUID, error) {
	c, err := marketingdb.New(s.db).GetCampaign(ctx, campaignID)
	if err != nil {
		return uuid.Nil, err
	}
	audience, err := s.segmentMembers(ctx, c.SegmentID)
	if err != nil {
		return uuid.Nil, err
	}
	total := audience.GetCardinality()
	if audience, err = s.underFrequencyCap(ctx, c, audience); err != nil {
		return uuid.Nil, err
	}
	var buf bytes.Buffer
	if _, err := audience.WriteTo(&buf); err != nil {
		return uuid.Nil, err
	}
	runID := uuid.Must(uuid.NewV7())
	now := s.now()
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := marketingdb.New(tx)
		c, err := q.LockCampaign(ctx, campaignID)
		if err != nil {
			return err
		}
		// Another scheduler may have started it meanwhile; a paused one waits.
		if c.NextRunAt == nil || c.NextRunAt.After(now) || (c.State != StateScheduled && c.State != StateRunning) {
			runID = uuid.Nil
			return nil
		}
		if err := q.InsertRun(ctx, marketingdb.InsertRunParams{ID: runID, CampaignID: campaignID, StartedAt: now,
			Audience: buf.Bytes(), Total: int64(total), Skipped: int64(total - audience.GetCardinality())}); err != nil {
			return err
		}
		var next *time.Time
		if c.Schedule == ScheduleRecurring {
			next = ptr(c.NextRunAt.AddDate(0, 0, int(c.EveryDays)))
		}
		return q.SetCampaignState(ctx, marketingdb.SetCampaignStateParams{ID: campaignID, State: StateRunning, NextRunAt: next})
	})
	return runID, err
}

// underFrequencyCap takes out of audience (changed in place) the members who had
// the campaign's frequency cap of offers in its window.
func (s *Service) underFrequencyCap(ctx context.Context, c marketingdb.MarketingCampaign, audience *roaring.Bitmap) (*roaring.Bitmap, error) {
	if c.FreqCap <= 0 {
		return audience, nil
	}
	capped, err := marketingdb.New(s.db).CappedMembers(ctx, marketingdb.CappedMembersParams{
		SentAt: s.now().AddDate(0, 0, -int(c.FreqDays)), Cap: c.FreqCap})
	if err != nil {
		return nil, err
	}
	over := roaring.New()
	for _, seq := range capped {
		over.Add(uint32(seq))
	}
	audience.AndNot(over)
	return audience, nil
}

// StartNow starts a scheduled campaign's run at once (tests, benchmarks and the
// console's "start now") and returns the run's id.
func (s *Service) StartNow(ctx context.Context, campaignID uuid.UUID) (uuid.UUID, error) {
	if _, err := s.db.Exec(ctx, `UPDATE marketing.campaigns SET next_run_at = $2 WHERE id = $1 AND state IN ('scheduled', 'running')`,
		campaignID, s.now()); err != nil {
		return uuid.Nil, err
	}
	return s.startRun(ctx, campaignID)
}

// SendRun sends a run's remaining batches while it holds the run's lease. It returns
// nil when another sender holds it.
func (s *Service) SendRun(ctx context.Context, runID uuid.UUID) error {
	q := marketingdb.New(s.db)
	run, err := q.ClaimRun(ctx, marketingdb.ClaimRunParams{ID: runID, Now: s.now(), LeaseUntil: s.now().Add(leaseFor)})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("marketing: claim run %s: %w", runID, err)
	}
	c, err := q.GetCampaign(ctx, run.CampaignID)
	if err != nil {
		return err
	}
	audience := roaring.New()
	if _, err := audience.ReadFrom(bytes.NewReader(run.Audience)); err != nil {
		return fmt.Errorf("marketing: run %s: audience: %w", runID, err)
	}
	spent, err := q.CampaignSpent(ctx, c.ID)
	if err != nil {
		return err
	}
	next := run.NextSeq
	window := make([][]uint32, s.cfg.SendParallel)
	for i := range window {
		window[i] = make([]uint32, s.cfg.SendBatch)
	}
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// A paused or stopped campaign stops here; a paused one is resumed later.
		if st, err := q.GetCampaign(ctx, c.ID); err != nil || st.State == StatePaused || st.State == StateStopped {
			_, _ = s.db.Exec(ctx, `UPDATE marketing.campaign_runs SET lease_until = NULL WHERE id = $1`, runID)
			return err
		}
		batches := nextWindow(audience, next, window)
		if len(batches) == 0 {
			return s.finishRun(ctx, c, runID, "done")
		}
		// Batches go side by side only while the budget cannot run out among them;
		// near it, one at a time, so the budget cuts at the right member.
		members := 0
		for _, b := range batches {
			members += len(b)
		}
		if c.BudgetFen-spent < int64(members)*c.UnitCostFen {
			batches = batches[:1]
		}
		results := make([]batchResult, len(batches))
		g, gctx := errgroup.WithContext(ctx)
		for i, seqs := range batches {
			g.Go(func() (err error) {
				results[i], err = s.sendBatch(gctx, c, runID, seqs, c.BudgetFen-spent)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return fmt.Errorf("marketing: run %s: %w", runID, err)
		}
		last, b := batches[len(batches)-1], results[len(results)-1]
		if b.through < 0 { // not even the batch's first member fits the budget
			return s.budgetReached(ctx, c, runID)
		}
		var sum batchResult
		for _, r := range results {
			sum.treated, sum.control, sum.skipped, sum.spent = sum.treated+r.treated, sum.control+r.control, sum.skipped+r.skipped, sum.spent+r.spent
			sum.budgetReached = sum.budgetReached || r.budgetReached
		}
		// Every batch of the window is done before next_seq passes them: a sender
		// killed meanwhile leaves the whole window to be redone.
		advanced, err := q.AdvanceRun(ctx, marketingdb.AdvanceRunParams{ID: runID, NextSeq: int64(last[b.through]) + 1,
			Treated: sum.treated, Control: sum.control, Skipped: sum.skipped, SpentFen: sum.spent,
			LeaseUntil: ptr(s.now().Add(leaseFor)), NextSeq_2: next})
		if err != nil {
			return err
		}
		if advanced == 0 {
			return nil // another sender took over (this one's lease had run out)
		}
		spent += sum.spent
		next = int64(last[b.through]) + 1
		if sum.budgetReached {
			return s.budgetReached(ctx, c, runID)
		}
	}
}

// nextWindow fills the buffers with consecutive batches of the audience's seqs from
// `from` on and returns the filled ones.
func nextWindow(audience *roaring.Bitmap, from int64, bufs [][]uint32) [][]uint32 {
	var out [][]uint32
	for _, buf := range bufs {
		if from >= 1<<32 {
			break
		}
		n := nextBatch(audience, uint32(from), buf)
		if n == 0 {
			break
		}
		out = append(out, buf[:n])
		from = int64(buf[n-1]) + 1
	}
	return out
}

// budgetReached ends the run and the campaign: its budget is spent.
func (s *Service) budgetReached(ctx context.Context, c marketingdb.MarketingCampaign, runID uuid.UUID) error {
	s.log.InfoContext(ctx, "marketing: campaign budget reached", "campaign", c.ID, "run", runID)
	if err := s.finishRun(ctx, c, runID, "done"); err != nil {
		return err
	}
	_, err := s.db.Exec(ctx, `UPDATE marketing.campaigns SET state = 'done', next_run_at = NULL WHERE id = $1`, c.ID)
	return err
}

// nextBatch fills buf with the audience's seqs from `from` on.
func nextBatch(audience *roaring.Bitmap, from uint32, buf []uint32) int {
	it := audience.Iterator()
	it.AdvanceIfNeeded(from)
	n := 0
	for n < len(buf) && it.HasNext() {
		buf[n] = it.Next()
		n++
	}
	return n
}

func (s *Service) finishRun(ctx context.Context, c marketingdb.MarketingCampaign, runID uuid.UUID, state string) error {
	q := marketingdb.New(s.db)
	if err := q.FinishRun(ctx, marketingdb.FinishRunParams{ID: runID, State: state, FinishedAt: ptr(s.now())}); err != nil {
		return err
	}
	if c.Schedule == ScheduleOnce {
		_, err := s.db.Exec(ctx, `UPDATE marketing.campaigns SET state = 'done' WHERE id = $1 AND state = 'running'`, c.ID)
		return err
	}
	return nil
}

type batchResult struct {
	through                 int // index in the batch of the last member handled
	treated, control, spent int64
	skipped                 int64
	budgetReached           bool
}

// sendBatch records a batch's members in the run and issues the treatment's offers.
// Within the remaining budget only: the batch is cut at the first member the budget
// cannot pay for.
func (s *Service) sendBatch(ctx context.Context, c marketingdb.MarketingCampaign, runID uuid.UUID, seqs []uint32, remaining int64) (batchResult, error) {
	q := marketingdb.New(s.db)
	ints := make([]int32, len(seqs))
	for i, v := range seqs {
		ints[i] = int32(v)
	}
	members, err := q.MembersBySeq(ctx, ints)
	if err != nil {
		return batchResult{}, err
	}
	bySeq := make(map[int32]uuid.UUID, len(members))
	for _, m := range members {
		bySeq[m.Seq] = m.ConsumerID
	}
	res := batchResult{through: len(seqs) - 1}
	arms := make([]string, 0, len(seqs))
	ids := make([]uuid.UUID, 0, len(seqs))
	var grants []Grant
	var grantSeqs []int32 // parallel to grants
	for i, seq := range ints {
		id, ok := bySeq[seq]
		switch {
		case !ok:
			arms = append(arms, "") // the member left: written as nothing
		case inControl(c.ID, id, c.HoldoutPct):
			arms = append(arms, "control")
			res.control++
		default:
			if remaining-res.spent < c.UnitCostFen {
				res.through, res.budgetReached = i-1, true
				ints, arms, ids = ints[:i], arms[:i], ids[:i]
				break
			}
			arms = append(arms, "treatment")
			res.treated++
			res.spent += c.UnitCostFen
			grants = append(grants, Grant{ConsumerID: id, Key: runID.String() + ":" + id.String()})
			grantSeqs = append(grantSeqs, seq)
		}
		if res.budgetReached {
			break
		}
		ids = append(ids, id)
	}
	if res.through < 0 {
		return res, nil
	}
	if err := s.insertSends(ctx, runID, c.ID, ints, ids, arms); err != nil {
		return res, err
	}
	if len(grants) == 0 {
		return res, nil
	}
	var issued Issued
	switch c.OfferKind {
	case OfferCoupon:
		issued, err = s.ports.Offers.IssueCoupons(ctx, c.CouponBatch, grants)
	case OfferPoints:
		issued, err = s.ports.Offers.CreditPoints(ctx, c.Points, "campaign "+c.Name, grants)
	case OfferMessage:
		issued, err = s.sendMessages(ctx, c, grants)
	}
	if err != nil || len(issued.Refused) == 0 {
		return res, err
	}
	return res, s.refused(ctx, runID, c, grants, grantSeqs, issued, &res)
}

// refused takes the grants the issuer refused out of the treatment: their sends rows
// become arm "refused" (results count treatment only), they cost nothing, and a
// coupon batch that ran out ends the run as a spent budget does. Repeating it for a
// retried batch changes nothing more.
func (s *Service) refused(ctx context.Context, runID uuid.UUID, c marketingdb.MarketingCampaign, grants []Grant, seqs []int32, issued Issued, res *batchResult) error {
	refused := make([]int32, 0, len(issued.Refused))
	for i, g := range grants {
		reason, ok := issued.Refused[g.Key]
		if !ok {
			continue
		}
		refused = append(refused, seqs[i])
		res.treated--
		res.skipped++
		res.spent -= c.UnitCostFen
		if reason == RefusedOutOfStock {
			res.budgetReached = true
		}
	}
	_, err := s.db.Exec(ctx, `UPDATE marketing.sends SET arm = 'refused' WHERE run_id = $1 AND seq = ANY($2::int[])`, runID, refused)
	return err
}

// sendMessages hands the channel the messages whose keys no earlier attempt
// claimed: a message is sent at most once per key (a worker killed between the
// claim and the channel loses it rather than sending it twice).
func (s *Service) sendMessages(ctx context.Context, c marketingdb.MarketingCampaign, grants []Grant) (Issued, error) {
	keys := make([]string, len(grants))
	for i, g := range grants {
		keys[i] = g.Key
	}
	rows, err := s.db.Query(ctx, `INSERT INTO marketing.message_keys (key, claimed_at) SELECT k, $2 FROM unnest($1::text[]) AS k
ON CONFLICT DO NOTHING RETURNING key`, keys, s.now())
	if err != nil {
		return Issued{}, err
	}
	claimed := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return Issued{}, err
		}
		claimed[k] = true
	}
	if err := rows.Err(); err != nil {
		return Issued{}, err
	}
	msgs := make([]Message, 0, len(claimed))
	for _, g := range grants {
		if claimed[g.Key] {
			msgs = append(msgs, Message{ConsumerID: g.ConsumerID, Key: g.Key, Template: c.MessageTemplate, Text: c.Message})
		}
	}
	if len(msgs) == 0 {
		return Issued{}, nil
	}
	return s.ports.Channel.Send(ctx, msgs)
}

// insertSends writes a batch's rows, skipping those a previous attempt wrote. The
// statement unnests three arrays at once, which sqlc cannot compile: it lives here.
func (s *Service) insertSends(ctx context.Context, runID, campaignID uuid.UUID, seqs []int32, ids []uuid.UUID, arms []string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO marketing.sends (run_id, consumer_id, seq, campaign_id, arm, sent_at)
SELECT $1, u.consumer_id, u.seq, $2, u.arm, $3 FROM unnest($4::uuid[], $5::int[], $6::text[]) AS u(consumer_id, seq, arm)
WHERE u.arm <> '' ON CONFLICT DO NOTHING`, runID, campaignID, s.now(), ids, seqs, arms)
	return err
}
