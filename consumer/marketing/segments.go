package marketing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/marketing/internal/marketingdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Segment is a saved rule. Its members are never stored: they are the rule
// evaluated on the current index, so a segment is always current.
type Segment struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Rule      Rule      `json:"rule"`
	Members   uint64    `json:"members"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Count is a rule's live count.
type Count struct {
	Members uint64        `json:"members"`
	Of      uint64        `json:"of"` // all members
	Took    time.Duration `json:"took_ns"`
}

// evaluate evaluates a rule on the current index.
func (s *Service) evaluate(ctx context.Context, rule *Rule) (*roaring.Bitmap, *Index, error) {
	var b *roaring.Bitmap
	x, err := s.evaluateWith(ctx, rule, func(r result, _ *Index) { b = r.mutable() })
	return b, x, err
}

// evaluateWith evaluates a rule and hands the result to fn under the index's read
// lock: the result may be a bitmap of the index or its cache (a one-condition rule),
// so fn reads it there and never changes it.
func (s *Service) evaluateWith(ctx context.Context, rule *Rule, fn func(r result, x *Index)) (*Index, error) {
	audiences, places, err := s.prefetch(ctx, rule, "rule")
	if err != nil {
		return nil, err
	}
	x, err := s.index(ctx)
	if err != nil {
		return nil, err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	e := evaluator{x: x, today: dayOf(s.now()), tiers: s.cfg.Tiers, noCache: s.cfg.NoLeafCache, audiences: audiences, places: places}
	r, err := e.eval(rule, "rule")
	if err != nil {
		return nil, err
	}
	fn(r, x)
	return x, nil
}

// CountRule counts the members a rule selects now.
func (s *Service) CountRule(ctx context.Context, p *identity.Principal, rule Rule) (Count, error) {
	if err := p.RequireAll(identity.PermMemberRead, objMember); err != nil {
		return Count{}, err
	}
	start := time.Now()
	var c Count
	if _, err := s.evaluateWith(ctx, &rule, func(r result, x *Index) {
		c.Members, c.Of = r.b.GetCardinality(), x.all.GetCardinality()
	}); err != nil {
		return Count{}, err
	}
	c.Took = time.Since(start)
	return c, nil
}

func segmentFrom(r marketingdb.MarketingSegment) (Segment, error) {
	sg := Segment{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal(r.Rule, &sg.Rule); err != nil {
		return sg, fmt.Errorf("marketing: segment %s: rule: %w", r.ID, err)
	}
	return sg, nil
}

// SaveSegment creates a segment (id uuid.Nil) or changes one; the rule is checked
// (a bad rule is refused naming it) before anything is written.
func (s *Service) SaveSegment(ctx context.Context, p *identity.Principal, id uuid.UUID, name string, rule Rule) (Segment, error) {
	if err := p.RequireAll(identity.PermSegmentWrite, objSegment); err != nil {
		return Segment{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 80 {
		return Segment{}, errs.Invalidf("name", "a segment needs a name of at most 80 characters")
	}
	b, _, err := s.evaluate(ctx, &rule)
	if err != nil {
		return Segment{}, err
	}
	raw, err := json.Marshal(rule)
	if err != nil {
		return Segment{}, err
	}
	now := s.now()
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := marketingdb.New(tx)
		if id == uuid.Nil {
			id = uuid.Must(uuid.NewV7())
			return q.InsertSegment(ctx, marketingdb.InsertSegmentParams{ID: id, Name: name, Rule: raw, CreatedBy: p.User.ID, CreatedAt: now})
		}
		n, err := q.UpdateSegment(ctx, marketingdb.UpdateSegmentParams{ID: id, Name: name, Rule: raw, UpdatedAt: now})
		if err == nil && n == 0 {
			return errs.NotFound("marketing.segment")
		}
		return err
	})
	if pg.IsUniqueViolation(err, "segments_name") {
		return Segment{}, errs.E(errs.KindConflict, CodeSegmentNameTaken, "a segment with this name exists").WithField("name")
	}
	if err != nil {
		return Segment{}, pg.Classify(err)
	}
	return Segment{ID: id, Name: name, Rule: rule, Members: b.GetCardinality(), CreatedAt: now, UpdatedAt: now}, nil
}

// GetSegment reads a segment with its current count.
func (s *Service) GetSegment(ctx context.Context, p *identity.Principal, id uuid.UUID) (Segment, error) {
	if err := p.RequireAll(identity.PermMemberRead, objSegment); err != nil {
		return Segment{}, err
	}
	sg, err := s.segment(ctx, id)
	if err != nil {
		return sg, err
	}
	b, _, err := s.evaluate(ctx, &sg.Rule)
	if err != nil {
		return sg, err
	}
	sg.Members = b.GetCardinality()
	return sg, nil
}

func (s *Service) segment(ctx context.Context, id uuid.UUID) (Segment, error) {
	r, err := marketingdb.New(s.db).GetSegment(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Segment{}, errs.NotFound("marketing.segment")
	}
	if err != nil {
		return Segment{}, pg.Classify(err)
	}
	return segmentFrom(r)
}

// ListSegments lists the saved segments with their current counts.
func (s *Service) ListSegments(ctx context.Context, p *identity.Principal) ([]Segment, error) {
	if err := p.RequireAll(identity.PermMemberRead, objSegment); err != nil {
		return nil, err
	}
	rows, err := marketingdb.New(s.db).ListSegments(ctx)
	if err != nil {
		return nil, pg.Classify(err)
	}
	out := make([]Segment, 0, len(rows))
	for _, r := range rows {
		sg, err := segmentFrom(r)
		if err != nil {
			return nil, err
		}
		if b, _, err := s.evaluate(ctx, &sg.Rule); err == nil {
			sg.Members = b.GetCardinality()
		}
		out = append(out, sg)
	}
	return out, nil
}

// segmentMembers evaluates a saved segment.
func (s *Service) segmentMembers(ctx context.Context, id uuid.UUID) (*roaring.Bitmap, error) {
	sg, err := s.segment(ctx, id)
	if err != nil {
		return nil, err
	}
	b, _, err := s.evaluate(ctx, &sg.Rule)
	return b, err
}

// exportChunk is how many members one export query resolves.
const exportChunk = 10000

// ExportSegment streams a segment's members' ids to fn, in seq order, a chunk at a
// time: memory stays flat whatever the segment's size.
func (s *Service) ExportSegment(ctx context.Context, p *identity.Principal, id uuid.UUID, fn func(consumerID uuid.UUID) error) error {
	if err := p.RequireAll(identity.PermMemberRead, objSegment); err != nil {
		return err
	}
	b, err := s.segmentMembers(ctx, id)
	if err != nil {
		return err
	}
	return s.eachMember(ctx, b, func(batch []marketingdb.MembersBySeqRow) error {
		for _, m := range batch {
			if err := fn(m.ConsumerID); err != nil {
				return err
			}
		}
		return nil
	})
}

// eachMember resolves a bitmap's seqs to members, a chunk at a time.
func (s *Service) eachMember(ctx context.Context, b *roaring.Bitmap, fn func([]marketingdb.MembersBySeqRow) error) error {
	it := b.ManyIterator()
	buf := make([]uint32, exportChunk)
	seqs := make([]int32, 0, exportChunk)
	q := marketingdb.New(s.db)
	for {
		n := it.NextMany(buf)
		if n == 0 {
			return nil
		}
		seqs = seqs[:0]
		for _, v := range buf[:n] {
			seqs = append(seqs, int32(v))
		}
		rows, err := q.MembersBySeq(ctx, seqs)
		if err != nil {
			return pg.Classify(err)
		}
		if err := fn(rows); err != nil {
			return err
		}
	}
}

// IsMember says whether a member is in a segment now.
func (s *Service) IsMember(ctx context.Context, p *identity.Principal, id, consumerID uuid.UUID) (bool, error) {
	if err := p.RequireAll(identity.PermMemberRead, objSegment); err != nil {
		return false, err
	}
	b, err := s.segmentMembers(ctx, id)
	if err != nil {
		return false, err
	}
	seq, err := marketingdb.New(s.db).MemberSeq(ctx, consumerID)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, errs.NotFound("marketing.member")
	}
	if err != nil {
		return false, pg.Classify(err)
	}
	return b.Contains(uint32(seq)), nil
}

// Vocabulary is what a segment builder offers to choose from.
type Vocabulary struct {
	Cities     []string `json:"cities"`
	Tags       []string `json:"tags"`
	Tiers      []string `json:"tiers"`
	Categories []string `json:"categories"`
	Coupons    []string `json:"coupon_batches"`
	// Merchants are the merchants near_merchant and matching_audience can name;
	// Placed ones have a known place (near_merchant needs it).
	Merchants []MerchantChoice `json:"merchants"`
}

// MerchantChoice is a merchant a rule can name.
type MerchantChoice struct {
	ID       uuid.UUID `json:"id"`
	City     string    `json:"city"`
	Category string    `json:"category"`
	Placed   bool      `json:"placed"`
}

// Vocabulary lists the known values of the index's attributes.
func (s *Service) Vocabulary(ctx context.Context, p *identity.Principal) (Vocabulary, error) {
	if err := p.RequireAll(identity.PermMemberRead, objMember); err != nil {
		return Vocabulary{}, err
	}
	x, err := s.index(ctx)
	if err != nil {
		return Vocabulary{}, err
	}
	v := Vocabulary{Cities: nonEmpty(x.values(keyCity)), Tags: x.values(keyTag), Tiers: s.cfg.Tiers, Coupons: x.values(keyCouponHeld)}
	x.mu.RLock()
	for k := range x.num {
		if strings.HasPrefix(k, numCategory) {
			v.Categories = append(v.Categories, strings.TrimPrefix(k, numCategory))
		}
	}
	x.mu.RUnlock()
	ms, err := marketingdb.New(s.db).MerchantChoices(ctx)
	if err != nil {
		return v, fmt.Errorf("marketing: merchants: %w", err)
	}
	v.Merchants = make([]MerchantChoice, len(ms))
	for i, m := range ms {
		v.Merchants[i] = MerchantChoice{ID: m.MerchantID, City: m.City, Category: m.Category, Placed: m.Placed}
	}
	return v, nil
}

func nonEmpty(ss []string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// IndexStats are the figures of the process's index.
func (s *Service) IndexStats(ctx context.Context, p *identity.Principal) (Stats, error) {
	if err := p.RequireAll(identity.PermMemberRead, objMember); err != nil {
		return Stats{}, err
	}
	x, err := s.index(ctx)
	if err != nil {
		return Stats{}, err
	}
	return x.stats(), nil
}
