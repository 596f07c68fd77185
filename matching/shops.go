package matching

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/matching/internal/matchingdb"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Shops matched across the B side, and shop owners linked to their consumer identity.
//
// Each live shop (merchant.live: its lead, name, place, the owner's phone and the
// licence number) is compared with the shops matching knows by the signals of
// merchant's lead dedup: the same phone, the same licence number, a name at least
// ShopNameSimilarity alike (pg_trgm) within ShopRadiusM. Weights, combined as for
// consumers (1 − Π(1 − w)):
//
//	same licence number                        0.85  (branches of one business share it)
//	same owner phone                           0.85  (one owner may run two shops)
//	similar name within 200 m                  0.50 … 0.90 as the names go from 0.5 alike to the same
//
// A pair is linked automatically at AutoMergeAbove (0.95: two signals that agree) and
// when their licences do not differ; from ReviewAbove it waits in the review queue.
// A link records that two shop records are one shop; nothing of the merchant domain
// moves (its leads and merchants are its own).
//
// The owner: the owner's phone is looked up among members (Ports.Members). Exactly one
// member with that phone is linked at once (weightPhoneOneSide: the member's phone is
// theirs, the owner's was given at onboarding); two or more members with one phone go
// to review, since nothing says which of them runs the shop.
const (
	ShopRadiusM        = 200
	ShopNameSimilarity = 0.5
	weightShopLicence  = 0.85
	weightShopPhone    = 0.85
	weightShopNameLow  = 0.50
	weightShopNameHigh = 0.90
)

// Shop evidence kinds (with EvidencePhone).
const (
	EvidenceLicence    = "licence_no"
	EvidenceNameNearby = "name_nearby"
)

// Link states of shop matches and owner links.
const (
	LinkReview   = "review"
	LinkLinked   = "linked"
	LinkRejected = "rejected"
)

// CodeShopMatchState: the shop match is not waiting for review.
const CodeShopMatchState = "matching.shop_match_state"

const shopMatchObject = "matching.shop_match"

// Members is the consumer domain's read of members by phone (E.164).
type Members interface {
	MembersByPhone(ctx context.Context, phone string) ([]uuid.UUID, error)
}

// ShopMatch is a pair of shops that may be one.
type ShopMatch struct {
	ID         uuid.UUID  `json:"id"`
	A          uuid.UUID  `json:"a"`
	B          uuid.UUID  `json:"b"`
	AName      string     `json:"a_name,omitempty"`
	BName      string     `json:"b_name,omitempty"`
	Confidence float64    `json:"confidence"`
	Evidence   []Evidence `json:"evidence"`
	State      string     `json:"state"`
	Automatic  bool       `json:"automatic"`
	CreatedAt  time.Time  `json:"created_at"`
	DecidedAt  *time.Time `json:"decided_at,omitempty"`
	DecidedBy  string     `json:"decided_by,omitempty"`
}

// OwnerLink says a shop's owner is a consumer.
type OwnerLink struct {
	MerchantID uuid.UUID `json:"merchant_id"`
	ConsumerID uuid.UUID `json:"consumer_id"`
	ShopName   string    `json:"shop_name,omitempty"`
	Confidence float64   `json:"confidence"`
	State      string    `json:"state"`
}

// ShopEvidence weighs what two shops share; differentLicence is a hard fact against.
func ShopEvidence(samePhone, sameLicence, differentLicence bool, nameSimilarity, distanceM float64) (conf float64, ev []Evidence, auto bool) {
	if sameLicence {
		ev = append(ev, Evidence{Kind: EvidenceLicence, Weight: weightShopLicence})
	}
	if samePhone {
		ev = append(ev, Evidence{Kind: EvidencePhone, Weight: weightShopPhone})
	}
	if nameSimilarity >= ShopNameSimilarity && distanceM <= ShopRadiusM {
		w := weightShopNameLow + (weightShopNameHigh-weightShopNameLow)*(nameSimilarity-ShopNameSimilarity)/(1-ShopNameSimilarity)
		ev = append(ev, Evidence{Kind: EvidenceNameNearby, Value: fmt.Sprintf("%.2f, %.0f m", nameSimilarity, distanceM), Weight: w})
	}
	miss := 1.0
	for _, e := range ev {
		miss *= 1 - e.Weight
	}
	conf = 1 - miss
	return conf, ev, conf >= AutoMergeAbove && !differentLicence
}

// RecordShop keeps a live shop, matches it with the shops known, and links its owner
// to their consumer identity. Redelivery finds the pairs and links made already.
func (s *Service) RecordShop(ctx context.Context, e events.MerchantLive) error {
	var owners []uuid.UUID
	if s.members != nil && e.OwnerPhone != "" {
		var err error
		if owners, err = s.members.MembersByPhone(ctx, e.OwnerPhone); err != nil {
			return fmt.Errorf("matching: the owner of %s among members: %w", e.MerchantID, err)
		}
	}
	now := s.clock.Now().UTC()
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := matchingdb.New(tx)
		if err := q.UpsertShop(ctx, matchingdb.UpsertShopParams{MerchantID: e.MerchantID, LeadID: e.LeadID, Name: e.Name,
			Phone: e.OwnerPhone, LicenceNo: e.LicenceNo, Lat: e.Lat, Lng: e.Lng, SeenAt: now}); err != nil {
			return err
		}
		cands, err := q.ShopCandidates(ctx, matchingdb.ShopCandidatesParams{MerchantID: e.MerchantID, Name: e.Name, Phone: e.OwnerPhone,
			LicenceNo: e.LicenceNo, Lat: e.Lat, Lng: e.Lng, RadiusM: ShopRadiusM, MinSimilarity: ShopNameSimilarity})
		if err != nil {
			return err
		}
		for _, c := range cands {
			conf, ev, auto := ShopEvidence(e.OwnerPhone != "" && c.Phone == e.OwnerPhone, e.LicenceNo != "" && c.LicenceNo == e.LicenceNo,
				e.LicenceNo != "" && c.LicenceNo != "" && c.LicenceNo != e.LicenceNo, c.NameSimilarity, c.DistanceM)
			if conf < ReviewAbove {
				continue
			}
			a, b := e.MerchantID, c.MerchantID
			if a.String() > b.String() {
				a, b = b, a
			}
			state := LinkReview
			if auto {
				state = LinkLinked
			}
			evJSON, _ := json.Marshal(ev)
			if err := q.InsertShopMatch(ctx, matchingdb.InsertShopMatchParams{ID: uuid.Must(uuid.NewV7()), A: a, B: b, Confidence: conf,
				Evidence: evJSON, State: state, Automatic: auto, CreatedAt: now}); err != nil {
				return err
			}
		}
		for _, c := range owners {
			conf, state := weightPhoneOneSide, LinkLinked
			if len(owners) > 1 {
				conf, state = weightPhoneUnchecked, LinkReview
			}
			if err := q.InsertOwnerLink(ctx, matchingdb.InsertOwnerLinkParams{MerchantID: e.MerchantID, ConsumerID: c, Confidence: conf,
				State: state, CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("matching: shop %s: %w", e.MerchantID, pg.Classify(err))
	}
	return nil
}

// ListShopMatches lists shop matches, newest first (state review: the queue).
func (s *Service) ListShopMatches(ctx context.Context, p *identity.Principal, state string, limit int) ([]ShopMatch, error) {
	if _, err := p.Require(identity.PermOnboardingRead); err != nil {
		return nil, err
	}
	switch state {
	case "", LinkReview, LinkLinked, LinkRejected:
	default:
		return nil, errs.E(errs.KindInvalid, CodeInvalidList, "state is review, linked or rejected").WithField("state")
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rows, err := matchingdb.New(s.db).ListShopMatches(ctx, matchingdb.ListShopMatchesParams{State: state, MaxRows: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("matching: shop matches: %w", pg.Classify(err))
	}
	out := make([]ShopMatch, len(rows))
	for i, r := range rows {
		out[i] = shopMatchOf(matchingdb.MatchingShopMatch{ID: r.ID, A: r.A, B: r.B, Confidence: r.Confidence, Evidence: r.Evidence,
			State: r.State, Automatic: r.Automatic, CreatedAt: r.CreatedAt, DecidedAt: r.DecidedAt, DecidedBy: r.DecidedBy})
		out[i].AName, out[i].BName = r.AName, r.BName
	}
	return out, nil
}

func shopMatchOf(r matchingdb.MatchingShopMatch) ShopMatch {
	m := ShopMatch{ID: r.ID, A: r.A, B: r.B, Confidence: r.Confidence, State: r.State, Automatic: r.Automatic,
		CreatedAt: r.CreatedAt.UTC(), DecidedAt: r.DecidedAt, DecidedBy: r.DecidedBy}
	_ = json.Unmarshal(r.Evidence, &m.Evidence)
	return m
}

// DecideShopMatch links (link true) or rejects a shop match waiting for review.
func (s *Service) DecideShopMatch(ctx context.Context, p *identity.Principal, id uuid.UUID, link bool) (ShopMatch, error) {
	if _, err := p.Require(identity.PermOnboardingReview); err != nil {
		return ShopMatch{}, err
	}
	state := LinkRejected
	if link {
		state = LinkLinked
	}
	var out ShopMatch
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := matchingdb.New(tx)
		now := s.clock.Now().UTC()
		r, err := q.DecideShopMatch(ctx, matchingdb.DecideShopMatchParams{ID: id, State: state, At: &now, Actor: actorName(p.Actor())})
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := q.GetShopMatch(ctx, id); errors.Is(err, pgx.ErrNoRows) {
				return errs.NotFound(shopMatchObject)
			}
			return errs.E(errs.KindConflict, CodeShopMatchState, "only a shop match waiting for review can be decided")
		}
		if err != nil {
			return err
		}
		out = shopMatchOf(r)
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "matching.shop_match." + state, ObjectType: shopMatchObject,
			ObjectID: id.String(), Before: map[string]any{"state": LinkReview}, After: map[string]any{"state": state}})
	})
	if err != nil {
		return ShopMatch{}, pg.Classify(err)
	}
	return out, nil
}

// OwnerOf is the consumer identities linked to a shop's owner.
func (s *Service) OwnerOf(ctx context.Context, p *identity.Principal, merchantID uuid.UUID) ([]OwnerLink, error) {
	if _, err := p.Require(identity.PermMemberRead); err != nil {
		return nil, err
	}
	rows, err := matchingdb.New(s.db).OwnerLinksOfMerchant(ctx, merchantID)
	if err != nil {
		return nil, fmt.Errorf("matching: owner of %s: %w", merchantID, pg.Classify(err))
	}
	out := make([]OwnerLink, len(rows))
	for i, r := range rows {
		out[i] = OwnerLink{MerchantID: r.MerchantID, ConsumerID: r.ConsumerID, Confidence: r.Confidence, State: r.State}
	}
	return out, nil
}

// ShopsOwnedBy is the shops a consumer is linked to as their owner.
func (s *Service) ShopsOwnedBy(ctx context.Context, p *identity.Principal, consumerID uuid.UUID) ([]OwnerLink, error) {
	if _, err := p.Require(identity.PermMemberRead); err != nil {
		return nil, err
	}
	rows, err := matchingdb.New(s.db).OwnerLinksOfConsumer(ctx, consumerID)
	if err != nil {
		return nil, fmt.Errorf("matching: shops of %s: %w", consumerID, pg.Classify(err))
	}
	out := make([]OwnerLink, len(rows))
	for i, r := range rows {
		out[i] = OwnerLink{MerchantID: r.MerchantID, ConsumerID: r.ConsumerID, ShopName: r.Name, Confidence: r.Confidence, State: r.State}
	}
	return out, nil
}
