package marketing

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/marketing/internal/marketingdb"
	"github.com/tandemcrm/tandem/shared/errs"
)

// Audiences is matching's published read: the consumers likely to buy at a merchant,
// best first. cmd/tandem adapts matching's AudienceFor to it.
type Audiences interface {
	AudienceFor(ctx context.Context, merchantID uuid.UUID, limit int) ([]uuid.UUID, error)
}

// The condition matching_audience (merchant) selects the members matching proposes
// for the merchant, so a campaign's audience can be "matching's audience for this
// shop", alone or combined with any other condition. The audience is fetched from
// matching before the rule is evaluated, kept as a bitmap for audienceFresh, and
// never put in the index's condition cache (matching's ranking moves on its own).

// audienceFresh is how long a fetched audience is used before asking matching again.
const audienceFresh = 10 * time.Minute

// audienceLimit is how many consumers a merchant's audience holds (matching's maximum).
const audienceLimit = 5000

type fetchedAudience struct {
	members *roaring.Bitmap
	at      time.Time
}

type audienceCache struct {
	mu sync.Mutex
	m  map[string]fetchedAudience
}

// prefetch reads what a rule's conditions need from outside the index before the
// index is locked: matching's audiences and merchants' places, by merchant id.
func (s *Service) prefetch(ctx context.Context, rule *Rule, path string) (map[string]*roaring.Bitmap, map[string]place, error) {
	var out map[string]*roaring.Bitmap
	var places map[string]place
	var walk func(r *Rule, path string) error
	walk = func(r *Rule, path string) error {
		for i := range r.And {
			if err := walk(&r.And[i], path+".and["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		for i := range r.Or {
			if err := walk(&r.Or[i], path+".or["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		if r.Not != nil {
			return walk(r.Not, path+".not")
		}
		if r.Field == "near_merchant" {
			p, err := s.merchantPlace(ctx, r.Merchant, path+"(near_merchant)")
			if err != nil {
				return err
			}
			if places == nil {
				places = map[string]place{}
			}
			places[r.Merchant] = p
			return nil
		}
		if r.Field != "matching_audience" {
			return nil
		}
		b, err := s.audience(ctx, r.Merchant, path+"(matching_audience)")
		if err != nil {
			return err
		}
		if out == nil {
			out = map[string]*roaring.Bitmap{}
		}
		out[r.Merchant] = b
		return nil
	}
	err := walk(rule, path)
	return out, places, err
}

// audience is one merchant's audience as member seqs, from the cache while fresh.
func (s *Service) audience(ctx context.Context, merchant, path string) (*roaring.Bitmap, error) {
	id, err := uuid.Parse(merchant)
	if err != nil {
		return nil, ruleError(path, "merchant %q is not a merchant id", merchant)
	}
	if s.ports.Audiences == nil {
		return nil, ruleError(path, "matching's audiences are not available in this process")
	}
	s.audiences.mu.Lock()
	f, ok := s.audiences.m[merchant]
	s.audiences.mu.Unlock()
	if ok && s.now().Sub(f.at) < audienceFresh {
		return f.members, nil
	}
	ids, err := s.ports.Audiences.AudienceFor(ctx, id, audienceLimit)
	if errs.KindOf(err) == errs.KindNotFound {
		return nil, ruleError(path, "unknown merchant %q", merchant)
	}
	if err != nil {
		return nil, err
	}
	seqs, err := marketingdb.New(s.db).SeqsOfMembers(ctx, ids)
	if err != nil {
		return nil, err
	}
	b := roaring.New()
	for _, seq := range seqs {
		b.Add(uint32(seq))
	}
	b.RunOptimize()
	s.audiences.mu.Lock()
	if s.audiences.m == nil {
		s.audiences.m = map[string]fetchedAudience{}
	}
	s.audiences.m[merchant] = fetchedAudience{members: b, at: s.now()}
	s.audiences.mu.Unlock()
	return b, nil
}
