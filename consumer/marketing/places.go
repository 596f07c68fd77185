package marketing

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/marketing/internal/marketingdb"
)

// Distance to a merchant on a grid in the bitmaps: a member is placed where they buy
// (the merchant of their latest order), in a cell of cellDeg × cellDeg degrees
// (about 550 × 480 m in Shanghai), one equality bitmap per cell ("cell:<row>:<col>").
// near_merchant (merchant, value metres) is the union of the cells that come within
// the radius of the merchant: a member counts when their cell does, so the boundary
// is as fine as a cell. No geometry is computed per member, and the count stays a
// handful of bitmap ORs whatever the number of members.

// cellDeg is the grid's step in degrees of latitude and longitude.
const cellDeg = 0.005

// Bounds of near_merchant's radius, in metres.
const (
	minRadiusM = 100
	maxRadiusM = 50_000
)

const earthRadiusM = 6_371_000.0

// place is a point in degrees.
type place struct{ lat, lng float64 }

// cellOf names the cell of a point.
func cellOf(p place) string {
	return fmt.Sprintf("%d:%d", int(math.Floor(p.lat/cellDeg)), int(math.Floor(p.lng/cellDeg)))
}

// distanceM is the great-circle distance between two points (haversine).
func distanceM(a, b place) float64 {
	rad := math.Pi / 180
	dLat, dLng := (b.lat-a.lat)*rad, (b.lng-a.lng)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.lat*rad)*math.Cos(b.lat*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(h)))
}

// cellsWithin names the cells that come within radiusM of p: those whose nearest
// point to p is within the radius.
func cellsWithin(p place, radiusM float64) []string {
	dLat := radiusM / earthRadiusM * 180 / math.Pi
	dLng := dLat / math.Max(math.Cos(p.lat*math.Pi/180), 0.01)
	r0, r1 := int(math.Floor((p.lat-dLat)/cellDeg)), int(math.Floor((p.lat+dLat)/cellDeg))
	c0, c1 := int(math.Floor((p.lng-dLng)/cellDeg)), int(math.Floor((p.lng+dLng)/cellDeg))
	var out []string
	for r := r0; r <= r1; r++ {
		for c := c0; c <= c1; c++ {
			lat0, lng0 := float64(r)*cellDeg, float64(c)*cellDeg
			nearest := place{math.Min(math.Max(p.lat, lat0), lat0+cellDeg), math.Min(math.Max(p.lng, lng0), lng0+cellDeg)}
			if distanceM(p, nearest) <= radiusM {
				out = append(out, fmt.Sprintf("%d:%d", r, c))
			}
		}
	}
	return out
}

// nearMerchant is the members placed within radiusM of a merchant's place.
func (e *evaluator) nearMerchant(r *Rule, path string) (result, error) {
	if r.Value < minRadiusM || r.Value > maxRadiusM {
		return result{}, ruleError(path, "the radius is %d to %d metres", minRadiusM, maxRadiusM)
	}
	p, ok := e.places[r.Merchant]
	if !ok {
		return result{}, ruleError(path, "merchant is required")
	}
	var bs []*roaring.Bitmap
	for _, c := range cellsWithin(p, float64(r.Value)) {
		if b, ok := e.x.eq[keyCell+c]; ok {
			bs = append(bs, b)
		}
	}
	return result{roaring.FastOr(bs...), true}, nil
}

// merchantPlace is where a merchant is, as merchant.live told it.
func (s *Service) merchantPlace(ctx context.Context, merchant, path string) (place, error) {
	id, err := uuid.Parse(merchant)
	if err != nil {
		return place{}, ruleError(path, "merchant %q is not a merchant id", merchant)
	}
	r, err := marketingdb.New(s.db).MerchantPlace(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return place{}, ruleError(path, "unknown merchant %q, or its place is not known", merchant)
	}
	return place{r.Lat, r.Lng}, err
}
