package merchant

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Visit is a geo check-in at a shop. Refused check-ins are kept (Accepted false).
type Visit struct {
	ID        uuid.UUID `json:"id"`
	LeadID    uuid.UUID `json:"lead_id"`
	Lat       float64   `json:"lat"`
	Lng       float64   `json:"lng"`
	DistanceM float64   `json:"distance_m"`
	Accepted  bool      `json:"accepted"`
	Note      string    `json:"note"`
	By        uuid.UUID `json:"by"`
	At        time.Time `json:"at"`
}

// CheckIn is where the rep stands.
type CheckIn struct {
	Lat, Lng float64
	Note     string
}

// CodeTooFar is the code of a check-in refused for its distance.
const CodeTooFar = "merchant.checkin_too_far"

// DistanceM is the great-circle distance in metres between two points (haversine).
func DistanceM(lat1, lng1, lat2, lng2 float64) float64 {
	const earthRadiusM = 6_371_000
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}

// CheckIn records a visit to a lead the caller works. Farther than the allowed radius
// from the shop, the visit is recorded as refused and the call answers 422
// merchant.checkin_too_far with the distance.
func (s *Service) CheckIn(ctx context.Context, p *identity.Principal, leadID uuid.UUID, in CheckIn) (Visit, error) {
	if err := principal(p); err != nil {
		return Visit{}, err
	}
	if in.Lat < -90 || in.Lat > 90 || in.Lng < -180 || in.Lng > 180 {
		return Visit{}, errs.Invalidf("lat", "lat/lng are not a position on Earth")
	}
	var v Visit
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, err := writable(ctx, q, p, identity.PermVisitWrite, leadID)
		if err != nil {
			return err
		}
		d := DistanceM(l.Lat, l.Lng, in.Lat, in.Lng)
		v = Visit{ID: newID(), LeadID: l.ID, Lat: in.Lat, Lng: in.Lng, DistanceM: math.Round(d*10) / 10,
			Accepted: d <= s.cfg.CheckInRadiusM, Note: strings.TrimSpace(in.Note), By: p.User.ID, At: s.now()}
		return q.InsertVisit(ctx, merchantdb.InsertVisitParams{ID: v.ID, LeadID: v.LeadID, Lat: v.Lat, Lng: v.Lng,
			DistanceM: v.DistanceM, Accepted: v.Accepted, Note: v.Note, ByUser: v.By, At: v.At})
	})
	if err != nil {
		return Visit{}, fmt.Errorf("merchant: check in: %w", pg.Classify(err))
	}
	if !v.Accepted {
		return v, &errs.Error{Kind: errs.KindUnprocessable, Code: CodeTooFar, Field: "lat",
			Message: fmt.Sprintf("you are %.0f m from the shop; check in within %.0f m", v.DistanceM, s.cfg.CheckInRadiusM)}
	}
	return v, nil
}

// FollowUp is a contact with the shop (跟进).
type FollowUp struct {
	ID       uuid.UUID `json:"id"`
	LeadID   uuid.UUID `json:"lead_id"`
	Channel  string    `json:"channel"` // call, wechat, visit, other
	Note     string    `json:"note"`
	NextStep string    `json:"next_step"`
	By       uuid.UUID `json:"by"`
	At       time.Time `json:"at"`
}

// LogFollowUp records a follow-up on a lead the caller works.
func (s *Service) LogFollowUp(ctx context.Context, p *identity.Principal, leadID uuid.UUID, f FollowUp) (FollowUp, error) {
	if err := principal(p); err != nil {
		return FollowUp{}, err
	}
	if !slices.Contains([]string{"call", "wechat", "visit", "other"}, f.Channel) {
		return FollowUp{}, errs.Invalidf("channel", "channel must be call, wechat, visit or other")
	}
	if f.Note = strings.TrimSpace(f.Note); f.Note == "" {
		return FollowUp{}, errs.Invalidf("note", "note is required")
	}
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, err := writable(ctx, q, p, identity.PermLeadWrite, leadID)
		if err != nil {
			return err
		}
		f.ID, f.LeadID, f.By, f.At, f.NextStep = newID(), l.ID, p.User.ID, s.now(), strings.TrimSpace(f.NextStep)
		return q.InsertFollowUp(ctx, merchantdb.InsertFollowUpParams{ID: f.ID, LeadID: f.LeadID, Channel: f.Channel,
			Note: f.Note, NextStep: f.NextStep, ByUser: f.By, At: f.At})
	})
	if err != nil {
		return FollowUp{}, fmt.Errorf("merchant: follow-up: %w", pg.Classify(err))
	}
	return f, nil
}
