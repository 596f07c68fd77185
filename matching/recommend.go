package matching

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/matching/internal/matchingdb"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Recommendation is one merchant recommended to a consumer, with why.
type Recommendation struct {
	MerchantID uuid.UUID `json:"merchant_id"`
	Rank       int       `json:"rank"`
	Name       string    `json:"name"`
	Category   string    `json:"category"`
	DistanceM  float64   `json:"distance_m"` // 0 when where the consumer buys is unknown
	Score      float64   `json:"score"`
	Reasons    []Reason  `json:"reasons"`
	// ColdStart is true for the popular list served to a consumer with nothing stored.
	ColdStart  bool      `json:"cold_start"`
	ComputedAt time.Time `json:"computed_at"`
}

// Recompute replaces a consumer's stored recommendations by the hybrid ranking. A
// consumer with nothing bought has none stored (they are served the cold-start list).
// It is a replace under the consumer's lock, so a redelivered event is harmless.
func (s *Service) Recompute(ctx context.Context, consumerID uuid.UUID) (int, error) {
	var n int
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) (err error) {
		n, err = s.recompute(ctx, tx, consumerID)
		return err
	})
	return n, err
}

// recompute is Recompute in the caller's transaction: it ranks on what tx sees (the
// purchases the transaction recorded included) and forgets the served copy once tx has
// committed.
func (s *Service) recompute(ctx context.Context, tx pgx.Tx, consumerID uuid.UUID) (int, error) {
	return s.recomputeAll(ctx, tx, []uuid.UUID{consumerID}, false)
}

// recomputeAll is recompute of several consumers (a batch's payers) with one store:
// their inputs are read at once (batchSource), each is ranked on its own, then all are
// locked (in one order, unless the caller holds their locks already) and their lists
// replaced by one delete, one copy and one change note; it returns the recommendations
// stored.
func (s *Service) recomputeAll(ctx context.Context, tx pgx.Tx, consumers []uuid.UUID, locked bool) (int, error) {
	if len(consumers) == 0 {
		return 0, nil
	}
	q := matchingdb.New(tx)
	src, err := newBatchSource(ctx, q, s.cfg, consumers)
	if err != nil {
		return 0, err
	}
	var rows []matchingdb.CopyRecommendationsParams
	n := 0
	for _, c := range consumers {
		recs, cold, err := rank(ctx, src, s.cfg, c, MethodHybrid, s.cfg.Max)
		if err != nil {
			return 0, err
		}
		if cold {
			recs = nil
		}
		r, err := s.rows(c, recs)
		if err != nil {
			return 0, err
		}
		rows, n = append(rows, r...), n+len(recs)
	}
	if !locked {
		if err := lockConsumers(ctx, q, consumers); err != nil {
			return 0, fmt.Errorf("matching: store recommendations of %d consumers: %w", len(consumers), pg.Classify(err))
		}
	}
	if err := replaceRecommendations(ctx, q, consumers, rows); err != nil {
		return 0, fmt.Errorf("matching: store recommendations of %d consumers: %w", len(consumers), pg.Classify(err))
	}
	// One hook for the batch, under a key of its own: the list it forgets lives as long as
	// the hook, so no other call's key is the same.
	forgotten := slices.Clone(consumers)
	forget := func(context.Context, pg.Execer) { s.cache.forget(forgotten) }
	if !pg.AfterCommit(tx, fmt.Sprintf("matching.forget/%p", &forgotten[0]), forget) {
		forget(ctx, nil)
	}
	return n, nil
}

// lockConsumers takes the locks that serialise the changes of each consumer's record
// and lists (LockConsumer), in PostgreSQL's order of their ids, so that two transactions
// locking some of the same consumers cannot wait for each other.
func lockConsumers(ctx context.Context, q *matchingdb.Queries, consumers []uuid.UUID) error {
	locks := slices.Clone(consumers)
	pg.SortUUIDs(locks)
	return q.LockConsumers(ctx, slices.Compact(locks))
}

// storedRec is a recommendation in a consumer's stored list (its rank is its place).
type storedRec struct {
	MerchantID uuid.UUID `json:"merchant_id"`
	Name       string    `json:"name"`
	Category   string    `json:"category"`
	DistanceM  float64   `json:"distance_m"`
	Score      float64   `json:"score"`
	Reasons    []string  `json:"reasons"` // "kind:detail"
}

// rows are a consumer's recommendations as stored: one row, none for an empty list.
func (s *Service) rows(consumerID uuid.UUID, recs []Scored) ([]matchingdb.CopyRecommendationsParams, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	items := make([]storedRec, len(recs))
	for i, r := range recs {
		reasons := make([]string, len(r.Reasons))
		for j, rs := range r.Reasons {
			reasons[j] = rs.Kind + ":" + rs.Detail
		}
		items[i] = storedRec{MerchantID: r.ID, Name: r.Name, Category: r.Category, DistanceM: r.DistanceM, Score: r.Score, Reasons: reasons}
	}
	b, err := json.Marshal(items)
	if err != nil {
		return nil, fmt.Errorf("matching: recommendations of %s: %w", consumerID, err)
	}
	return []matchingdb.CopyRecommendationsParams{{ConsumerID: consumerID, Items: b, ComputedAt: s.clock.Now().UTC()}}, nil
}

// replaceRecommendations writes consumers' lists and notes the change for every
// process's serving cache in the same transaction.
func replaceRecommendations(ctx context.Context, q *matchingdb.Queries, consumers []uuid.UUID, rows []matchingdb.CopyRecommendationsParams) error {
	if err := q.DeleteRecommendations(ctx, consumers); err != nil {
		return err
	}
	if err := q.NoteServingChange(ctx, consumers); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	_, err := q.CopyRecommendations(ctx, rows)
	return err
}

// Recommendations returns a consumer's stored recommendations, best first; a consumer
// with none stored (unknown, new, or who bought nothing yet) gets the cold-start list:
// the most popular live merchants. It is served from this process's cache
// (serve_cache.go) and reads PostgreSQL only for a consumer it does not hold.
func (s *Service) Recommendations(ctx context.Context, consumerID uuid.UUID, limit int) ([]Recommendation, error) {
	l, err := s.served(ctx, consumerID)
	if err != nil {
		return nil, err
	}
	return l.recommendations(s.clampLimit(limit))
}

// AppendRecommendationsJSON appends what the API answers for a consumer's
// recommendations, {"items": [...]}, the same list as Recommendations, written from the
// cache as it is kept (for the serving benchmark; the API's handlers write it so).
func (s *Service) AppendRecommendationsJSON(ctx context.Context, b []byte, consumerID uuid.UUID, limit int) ([]byte, error) {
	l, err := s.served(ctx, consumerID)
	if err != nil {
		return b, err
	}
	return l.appendJSON(b, s.clampLimit(limit)), nil
}

// clampLimit is limit within 1..Config.Max (Config.Max when out of it).
func (s *Service) clampLimit(limit int) int {
	if limit <= 0 || limit > s.cfg.Max {
		return s.cfg.Max
	}
	return limit
}

// served is a consumer's list as the cache keeps it (read on a miss).
func (s *Service) served(ctx context.Context, consumerID uuid.UUID) (*servedList, error) {
	s.maybePoll(ctx)
	// A merged consumer is served the survivor's list; merges do not chain (merges.go),
	// so one step is all there is.
	for range 2 {
		v, ok := s.cache.get(consumerID)
		if !ok {
			var err error
			if v, err = s.load(ctx, consumerID); err != nil {
				return nil, err
			}
		}
		if v.survivor != uuid.Nil {
			consumerID = v.survivor
			continue
		}
		return v.list, nil
	}
	return nil, fmt.Errorf("matching: recommendations of %s: a merge chain", consumerID)
}

// load reads a consumer's list (or cold start, or survivor) and keeps it in the cache.
func (s *Service) load(ctx context.Context, consumerID uuid.UUID) (cached, error) {
	gen := s.cache.gen.Load()
	q := matchingdb.New(s.db)
	row, err := q.GetRecommendations(ctx, consumerID)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return cached{}, fmt.Errorf("matching: recommendations of %s: %w", consumerID, pg.Classify(err))
	}
	var items []storedRec
	if err == nil {
		if err := json.Unmarshal(row.Items, &items); err != nil {
			return cached{}, fmt.Errorf("matching: recommendations of %s: %w", consumerID, err)
		}
	}
	var v cached
	switch {
	case len(items) > 0:
		recs := make([]Recommendation, len(items))
		for i, r := range items {
			recs[i] = Recommendation{MerchantID: r.MerchantID, Rank: i + 1, Name: r.Name, Category: r.Category,
				DistanceM: r.DistanceM, Score: r.Score, Reasons: parseReasons(r.Reasons), ComputedAt: row.ComputedAt.UTC()}
		}
		if v.list, err = newServedList(recs); err != nil {
			return cached{}, err
		}
	case s.canonical(ctx, consumerID) != consumerID:
		v.survivor = s.canonical(ctx, consumerID)
	default:
		recs, err := s.coldStart(ctx, q, consumerID, s.cfg.Max)
		if err != nil {
			return cached{}, err
		}
		if v.list, err = newServedList(recs); err != nil {
			return cached{}, err
		}
	}
	s.cache.put(consumerID, v, gen)
	return v, nil
}

func (s *Service) coldStart(ctx context.Context, q *matchingdb.Queries, consumerID uuid.UUID, limit int) ([]Recommendation, error) {
	pop, err := q.ColdStart(ctx, matchingdb.ColdStartParams{ConsumerID: consumerID, MaxRows: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("matching: cold start: %w", pg.Classify(err))
	}
	now := s.clock.Now().UTC()
	out := make([]Recommendation, len(pop))
	for i, m := range pop {
		out[i] = Recommendation{MerchantID: m.MerchantID, Rank: i + 1, Name: m.Name, Category: m.Category, ColdStart: true,
			Reasons: []Reason{{Kind: ReasonPopular}}, ComputedAt: now}
	}
	return out, nil
}

func parseReasons(ss []string) []Reason {
	out := make([]Reason, len(ss))
	for i, s := range ss {
		k, d, _ := strings.Cut(s, ":")
		out[i] = Reason{Kind: k, Detail: d}
	}
	return out
}

// ConsumerRecommendations is a consumer's recommendations for staff who may read members
// (the console's member page, marketing).
func (s *Service) ConsumerRecommendations(ctx context.Context, p *identity.Principal, consumerID uuid.UUID, limit int) ([]Recommendation, error) {
	l, err := s.consumerServed(ctx, p, consumerID)
	if err != nil {
		return nil, err
	}
	return l.recommendations(s.clampLimit(limit))
}

// consumerServed is ConsumerRecommendations' list as the cache keeps it (the API's).
func (s *Service) consumerServed(ctx context.Context, p *identity.Principal, consumerID uuid.UUID) (*servedList, error) {
	if err := requireMemberRead(p, consumerObject); err != nil {
		return nil, err
	}
	return s.served(ctx, consumerID)
}
