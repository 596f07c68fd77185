package merchant

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Visit is a geo check-in at a shop, with its check-out. Refused check-ins are kept
// (Accepted false). Flag is "too_fast" when the rep could not have come from their
// previous check-in in the time (SpeedKmh), for a manager to look at.
type Visit struct {
	ID        uuid.UUID  `json:"id"`
	LeadID    uuid.UUID  `json:"lead_id"`
	LeadName  string     `json:"lead_name,omitempty"` // on calendars and lists
	Lat       float64    `json:"lat"`
	Lng       float64    `json:"lng"`
	AccuracyM *float64   `json:"accuracy_m,omitempty"`
	DistanceM float64    `json:"distance_m"`
	Accepted  bool       `json:"accepted"`
	Note      string     `json:"note"`
	By        uuid.UUID  `json:"by"`
	At        time.Time  `json:"at"`
	PlanID    *uuid.UUID `json:"plan_id,omitempty"`
	SpeedKmh  *float64   `json:"speed_kmh,omitempty"`
	Flag      string     `json:"flag,omitempty"`
	OutAt     *time.Time `json:"out_at,omitempty"`
	// OutDistanceM is how far from the shop the rep checked out.
	OutDistanceM *float64 `json:"out_distance_m,omitempty"`
	Photos       []Photo  `json:"photos,omitempty"`
}

func visitOf(v merchantdb.MerchantVisit) Visit {
	return Visit{ID: v.ID, LeadID: v.LeadID, Lat: v.Lat, Lng: v.Lng, AccuracyM: f8(v.AccuracyM), DistanceM: v.DistanceM,
		Accepted: v.Accepted, Note: v.Note, By: v.ByUser, At: v.At.UTC(), PlanID: ptr(v.PlanID), SpeedKmh: f8(v.SpeedKmh),
		Flag: v.Flag, OutAt: v.OutAt, OutDistanceM: f8(v.OutDistanceM)}
}

func f8(f pgtype.Float8) *float64 {
	if !f.Valid {
		return nil
	}
	return &f.Float64
}

func nf8(f *float64) pgtype.Float8 {
	if f == nil {
		return pgtype.Float8{}
	}
	return pgtype.Float8{Float64: *f, Valid: true}
}

// CheckIn is where the rep stands, as the phone reports it.
type CheckIn struct {
	Lat, Lng float64
	// AccuracyM is the phone's reported accuracy (metres); nil when the client has none.
	AccuracyM *float64
	Note      string
	// PlanID is the planned visit this fulfils; without it, the rep's plan for the lead
	// that day (if any) is fulfilled.
	PlanID uuid.UUID
}

// Error codes of check-ins and check-outs.
const (
	CodeTooFar        = "merchant.checkin_too_far"
	CodeInaccurate    = "merchant.checkin_inaccurate"
	CodeCheckedOut    = "merchant.visit_checked_out"
	CodeFlagTooFast   = "too_fast"
	flagMinDistanceM  = 1000 // hops shorter than this are GPS jitter, never flagged
	coordinatesDigits = 10   // distances kept to 0.1 m
)

// DistanceM is the great-circle distance in metres between two points (haversine).
func DistanceM(lat1, lng1, lat2, lng2 float64) float64 {
	const earthRadiusM = 6_371_000
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}

// position checks a reported position and its accuracy.
func (s *Service) position(lat, lng float64, acc *float64) error {
	if lat < -90 || lat > 90 || lng < -180 || lng > 180 || math.IsNaN(lat) || math.IsNaN(lng) {
		return errs.Invalidf("lat", "lat/lng are not a position on Earth")
	}
	if acc != nil {
		if *acc < 0 || math.IsNaN(*acc) {
			return errs.Invalidf("accuracy_m", "accuracy_m is the phone's accuracy in metres, 0 or more")
		}
		if *acc > s.cfg.Field.MaxAccuracyM {
			return &errs.Error{Kind: errs.KindUnprocessable, Code: CodeInaccurate, Field: "accuracy_m",
				Message: fmt.Sprintf("the phone knows where you are only to %.0f m; wait for a fix better than %.0f m", *acc, s.cfg.Field.MaxAccuracyM)}
		}
	}
	return nil
}

// within reports whether a position d metres from the shop, reported with accuracy
// acc, is at the shop: the shop's radius widened by the reported accuracy (which
// position refused above the maximum).
func (s *Service) within(d float64, acc *float64) bool {
	slack := 0.0
	if acc != nil {
		slack = *acc
	}
	return d-slack <= s.cfg.CheckInRadiusM
}

func roundM(d float64) float64 { return math.Round(d*coordinatesDigits) / coordinatesDigits }

func (s *Service) tooFar(d float64) error {
	return &errs.Error{Kind: errs.KindUnprocessable, Code: CodeTooFar, Field: "lat",
		Message: fmt.Sprintf("you are %.0f m from the shop; check in within %.0f m", d, s.cfg.CheckInRadiusM)}
}

// CheckIn records a visit to a lead the caller works. Farther than the allowed radius
// from the shop, the visit is recorded as refused and the call answers 422
// merchant.checkin_too_far with the distance; an accuracy worse than the rules allow
// is refused (422 merchant.checkin_inaccurate) and not recorded. A check-in the rep
// could not have reached from their previous one in the time is kept, flagged.
func (s *Service) CheckIn(ctx context.Context, p *identity.Principal, leadID uuid.UUID, in CheckIn) (Visit, error) {
	if err := principal(p); err != nil {
		return Visit{}, err
	}
	if err := s.position(in.Lat, in.Lng, in.AccuracyM); err != nil {
		return Visit{}, err
	}
	var v Visit
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, err := writable(ctx, q, p, identity.PermVisitWrite, leadID)
		if err != nil {
			return err
		}
		now := s.now()
		d := DistanceM(l.Lat, l.Lng, in.Lat, in.Lng)
		v = Visit{ID: newID(), LeadID: l.ID, Lat: in.Lat, Lng: in.Lng, AccuracyM: in.AccuracyM, DistanceM: roundM(d),
			Accepted: s.within(d, in.AccuracyM), Note: strings.TrimSpace(in.Note), By: p.User.ID, At: now}
		if v.Accepted {
			if err := s.speedFlag(ctx, q, &v); err != nil {
				return err
			}
			plan, err := s.fulfilledPlan(ctx, q, p, l.ID, in.PlanID, now)
			if err != nil {
				return err
			}
			if plan != uuid.Nil {
				v.PlanID = &plan
			}
		}
		if err := q.InsertCheckIn(ctx, merchantdb.InsertCheckInParams{ID: v.ID, LeadID: v.LeadID, Lat: v.Lat, Lng: v.Lng,
			DistanceM: v.DistanceM, Accepted: v.Accepted, Note: v.Note, ByUser: v.By, At: v.At, AccuracyM: nf8(v.AccuracyM),
			PlanID: nullUUID(planRef(v.PlanID)), OrgUnitID: l.OrgUnitID, SpeedKmh: nf8(v.SpeedKmh), Flag: v.Flag}); err != nil {
			return err
		}
		if v.PlanID != nil {
			if _, err := q.SetVisitPlanStatus(ctx, merchantdb.SetVisitPlanStatusParams{ID: *v.PlanID, Status: string(PlanDone),
				VisitID: nullUUID(v.ID)}); err != nil {
				return err
			}
			return q.DoneTodosOfPlan(ctx, merchantdb.DoneTodosOfPlanParams{PlanID: *v.PlanID, DoneAt: &now})
		}
		return nil
	})
	if err != nil {
		return Visit{}, fmt.Errorf("merchant: check in: %w", pg.Classify(err))
	}
	if !v.Accepted {
		return v, s.tooFar(v.DistanceM)
	}
	return v, nil
}

// speedFlag flags v when the rep's previous check-in is too far away for the time
// between them.
func (s *Service) speedFlag(ctx context.Context, q *merchantdb.Queries, v *Visit) error {
	prev, err := q.PreviousCheckIn(ctx, merchantdb.PreviousCheckInParams{ByUser: v.By, At: v.At})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	d := DistanceM(prev.Lat, prev.Lng, v.Lat, v.Lng)
	if d < flagMinDistanceM {
		return nil
	}
	hours := v.At.Sub(prev.At).Hours()
	speed := math.Inf(1)
	if hours > 0 {
		speed = math.Round(d/1000/hours*10) / 10
	}
	if speed > s.cfg.Field.MaxSpeedKmh {
		v.Flag = CodeFlagTooFast
		if math.IsInf(speed, 1) {
			speed = 99999 // the same instant, kilometres apart
		}
	}
	v.SpeedKmh = &speed
	return nil
}

func planRef(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}

// CheckOut records when and where the rep left a visit they checked in to: within the
// shop's radius (with the same accuracy rule), once.
func (s *Service) CheckOut(ctx context.Context, p *identity.Principal, visitID uuid.UUID, lat, lng float64, acc *float64) (Visit, error) {
	if err := principal(p); err != nil {
		return Visit{}, err
	}
	if _, err := p.Require(identity.PermVisitWrite); err != nil {
		return Visit{}, err
	}
	if err := s.position(lat, lng, acc); err != nil {
		return Visit{}, err
	}
	var out Visit
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		v, err := q.GetVisitForUpdate(ctx, visitID)
		if err != nil {
			return notFound(err, "merchant.visit")
		}
		if v.ByUser != p.User.ID || !v.Accepted {
			return errs.NotFound("merchant.visit")
		}
		if v.OutAt != nil {
			return &errs.Error{Kind: errs.KindConflict, Code: CodeCheckedOut, Field: "visit",
				Message: "this visit was checked out at " + v.OutAt.In(clock.Shanghai).Format("15:04")}
		}
		l, err := q.GetLead(ctx, v.LeadID)
		if err != nil {
			return err
		}
		d := DistanceM(l.Lat, l.Lng, lat, lng)
		if !s.within(d, acc) {
			return s.tooFar(roundM(d))
		}
		now := s.now()
		v, err = q.CheckOut(ctx, merchantdb.CheckOutParams{ID: v.ID, OutAt: &now, OutLat: pgtype.Float8{Float64: lat, Valid: true},
			OutLng: pgtype.Float8{Float64: lng, Valid: true}, OutDistanceM: pgtype.Float8{Float64: roundM(d), Valid: true}})
		if err != nil {
			return err
		}
		out = visitOf(v)
		return nil
	})
	if err != nil {
		return Visit{}, fmt.Errorf("merchant: check out: %w", pg.Classify(err))
	}
	return out, nil
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
