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

// Shops matched across the B side: leads entered or imported in merchant and live
// merchants, and shop owners linked to their consumer identity.
//
// Matching keeps its own record of shops from merchant's events (a shop is known by its
// lead, which a merchant keeps when it goes live): merchant.lead_created, _edited and
// _archived, merchant.leads_imported (one event per batch of an import) and
// merchant.live (which adds the merchant id and the owner's phone). Each shop is
// compared with the others by the signals of merchant's lead dedup, with its thresholds
// (Ports.Dedup, merchant's DedupThresholds; ShopRadiusM and ShopNameSimilarity without
// it): the same phone, the same licence number, a name that alike (pg_trgm) within that
// radius. Merchant's dedup refuses such a shop on entry; matching finds what got past it
// (a manager's similar-name override, a lead edited into another's twin, a branch of one
// licence, a shop signed before its lead was imported again). Weights, combined as for
// consumers (1 − Π(1 − w)):
//
//	same licence number                        0.85  (branches of one business share it)
//	same owner phone                           0.85  (one owner may run two shops)
//	similar name within 200 m                  0.50 … 0.90 as the names go from 0.5 alike to the same
//
// A pair is linked automatically at AutoMergeAbove (0.95: two signals that agree) and
// when their licences do not differ; from ReviewAbove it waits in the review queue.
// A link records that two shop records are one shop; nothing of the merchant domain
// moves (its leads and merchants are its own). A lost lead stays a shop (it still holds
// its phone in merchant) and is shown as lost.
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
	// LinkWithdrawn: a shop match that waited for review lost the evidence that put it
	// there (an edit changed a phone, a licence, a name or a place); it waits again if
	// the evidence comes back.
	LinkWithdrawn = "withdrawn"
)

// CodeShopMatchState: the shop match is not waiting for review.
const CodeShopMatchState = "matching.shop_match_state"

const shopMatchObject = "matching.shop_match"

// Members is the consumer domain's read of members by phone (E.164).
type Members interface {
	MembersByPhone(ctx context.Context, phone string) ([]uuid.UUID, error)
}

// DedupRules are merchant's lead dedup thresholds (merchant.Service has them).
type DedupRules interface {
	DedupThresholds() (radiusM, nameSimilarity float64)
}

// ShopMatch is a pair of shops that may be one; a shop is named by its lead id.
type ShopMatch struct {
	ID         uuid.UUID  `json:"id"`
	A          uuid.UUID  `json:"a"`
	B          uuid.UUID  `json:"b"`
	AName      string     `json:"a_name,omitempty"`
	BName      string     `json:"b_name,omitempty"`
	AKind      string     `json:"a_kind,omitempty"` // merchant (live), lead, import (an imported lead) or lost
	BKind      string     `json:"b_kind,omitempty"`
	AMerchant  *uuid.UUID `json:"a_merchant,omitempty"` // when live
	BMerchant  *uuid.UUID `json:"b_merchant,omitempty"`
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

// shopEvidence weighs what two shops share by lead dedup's thresholds (a similar name
// is at least minSimilarity alike within radiusM); differentLicence is a hard fact against.
func shopEvidence(samePhone, sameLicence, differentLicence bool, nameSimilarity, distanceM, radiusM, minSimilarity float64) (conf float64, ev []Evidence, auto bool) {
	if sameLicence {
		ev = append(ev, Evidence{Kind: EvidenceLicence, Weight: weightShopLicence})
	}
	if samePhone {
		ev = append(ev, Evidence{Kind: EvidencePhone, Weight: weightShopPhone})
	}
	if nameSimilarity >= minSimilarity && distanceM <= radiusM {
		w := weightShopNameHigh
		if minSimilarity < 1 {
			w = weightShopNameLow + (weightShopNameHigh-weightShopNameLow)*(nameSimilarity-minSimilarity)/(1-minSimilarity)
		}
		ev = append(ev, Evidence{Kind: EvidenceNameNearby, Value: fmt.Sprintf("%.2f, %.0f m", nameSimilarity, distanceM), Weight: w})
	}
	miss := 1.0
	for _, e := range ev {
		miss *= 1 - e.Weight
	}
	conf = 1 - miss
	return conf, ev, conf >= AutoMergeAbove && !differentLicence
}

// shopFacts is a shop as one event tells of it.
type shopFacts struct {
	lead     uuid.UUID
	merchant uuid.NullUUID
	origin   string // ShopLead, ShopImport or ShopMerchant
	importID uuid.NullUUID
	name     string
	category string
	city     string
	phone    string
	licence  string
	lat, lng float64
	archived bool
	at       time.Time
}

// Where matching first heard of a shop (ShopMatch.AKind adds ShopLost).
const (
	ShopLead     = "lead"
	ShopImport   = "import"
	ShopMerchant = "merchant"
	ShopLost     = "lost"
)

func leadFacts(l events.LeadChanged, origin string, importID uuid.NullUUID) shopFacts {
	return shopFacts{lead: l.LeadID, origin: origin, importID: importID, name: l.Name, category: l.Category, city: l.City,
		phone: l.Phone, licence: l.LicenceNo, lat: l.Lat, lng: l.Lng, archived: l.Archived, at: l.At}
}

// RecordShop keeps a live shop, matches it with the shops known, and links its owner
// to their consumer identity. Redelivery finds the pairs and links made already.
func (s *Service) RecordShop(ctx context.Context, e events.MerchantLive) error {
	owners, err := s.ownersOf(ctx, e.MerchantID, e.OwnerPhone)
	if err != nil {
		return err
	}
	f := shopFacts{lead: e.LeadID, merchant: uuid.NullUUID{UUID: e.MerchantID, Valid: true}, origin: ShopMerchant, name: e.Name,
		category: e.Category, city: e.City, phone: e.OwnerPhone, licence: e.LicenceNo, lat: e.Lat, lng: e.Lng, at: e.LiveAt}
	err = s.recordShops(ctx, []shopFacts{f}, func(ctx context.Context, q *matchingdb.Queries, now time.Time) error {
		return linkOwner(ctx, q, e.MerchantID, owners, now)
	})
	if err != nil {
		return fmt.Errorf("matching: shop %s: %w", e.MerchantID, err)
	}
	return nil
}

// ownersOf is the members with the phone of a shop's owner (none without Members).
func (s *Service) ownersOf(ctx context.Context, merchantID uuid.UUID, phone string) ([]uuid.UUID, error) {
	if s.members == nil || phone == "" {
		return nil, nil
	}
	owners, err := s.members.MembersByPhone(ctx, phone)
	if err != nil {
		return nil, fmt.Errorf("matching: the owner of %s among members: %w", merchantID, err)
	}
	return owners, nil
}

// linkOwner links a live shop to the members with its owner's phone: the one member at
// once, two or more for review. Links made already stay as they are.
func linkOwner(ctx context.Context, q *matchingdb.Queries, merchantID uuid.UUID, owners []uuid.UUID, now time.Time) error {
	for _, c := range owners {
		conf, state := weightPhoneOneSide, LinkLinked
		if len(owners) > 1 {
			conf, state = weightPhoneUnchecked, LinkReview
		}
		if err := q.InsertOwnerLink(ctx, matchingdb.InsertOwnerLinkParams{MerchantID: merchantID, ConsumerID: c, Confidence: conf,
			State: state, CreatedAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// RecordLead keeps a lead entered, edited or archived in merchant as a shop and
// matches it with the shops known.
func (s *Service) RecordLead(ctx context.Context, e events.LeadChanged) error {
	if err := s.recordShops(ctx, []shopFacts{leadFacts(e, ShopLead, uuid.NullUUID{})}, nil); err != nil {
		return fmt.Errorf("matching: lead %s: %w", e.LeadID, err)
	}
	return nil
}

// RecordImportedLeads keeps one batch of an import's leads as shops and matches each.
func (s *Service) RecordImportedLeads(ctx context.Context, e events.LeadsImported) error {
	facts := make([]shopFacts, len(e.Leads))
	for i, l := range e.Leads {
		facts[i] = leadFacts(l, ShopImport, uuid.NullUUID{UUID: e.ImportID, Valid: true})
	}
	if err := s.recordShops(ctx, facts, nil); err != nil {
		return fmt.Errorf("matching: import %s batch %d: %w", e.ImportID, e.Batch, err)
	}
	return nil
}

// recordShops keeps the shops' facts and matches each with the others in one
// transaction, then runs also (the owner links) in it. Each shop is matched as it
// stands after the upsert, so a late, older event matches by the newer facts.
func (s *Service) recordShops(ctx context.Context, facts []shopFacts, also func(context.Context, *matchingdb.Queries, time.Time) error) error {
	radius, similarity := float64(ShopRadiusM), ShopNameSimilarity
	if s.dedup != nil {
		radius, similarity = s.dedup.DedupThresholds()
	}
	now := s.clock.Now().UTC()
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := matchingdb.New(tx)
		for _, f := range facts {
			if f.at.IsZero() {
				f.at = now
			}
			if err := q.UpsertShop(ctx, matchingdb.UpsertShopParams{LeadID: f.lead, MerchantID: f.merchant, Origin: f.origin, ImportID: f.importID,
				Name: f.name, Category: f.category, City: f.city, Phone: f.phone, LicenceNo: f.licence, Lat: f.lat, Lng: f.lng,
				Archived: f.archived, SeenAt: f.at.UTC()}); err != nil {
				return err
			}
		}
		for _, f := range facts {
			if err := matchShop(ctx, q, f.lead, radius, similarity, now); err != nil {
				return err
			}
		}
		if also != nil {
			return also(ctx, q, now)
		}
		return nil
	})
	return pg.Classify(err)
}

// matchShop pairs the shop of lead with the shops its facts match; pairs known stay
// as they are (ON CONFLICT DO NOTHING: a reviewer's decision is never redone).
func matchShop(ctx context.Context, q *matchingdb.Queries, lead uuid.UUID, radius, similarity float64, now time.Time) error {
	sh, err := q.GetShop(ctx, lead)
	if err != nil {
		return err
	}
	cands, err := q.ShopCandidates(ctx, matchingdb.ShopCandidatesParams{LeadID: lead, Name: sh.Name, Phone: sh.Phone,
		LicenceNo: sh.LicenceNo, Lat: sh.Lat, Lng: sh.Lng, RadiusM: radius, MinSimilarity: similarity})
	if err != nil {
		return err
	}
	for _, c := range cands {
		conf, ev, auto := shopEvidence(sh.Phone != "" && c.Phone == sh.Phone, sh.LicenceNo != "" && c.LicenceNo == sh.LicenceNo,
			sh.LicenceNo != "" && c.LicenceNo != "" && c.LicenceNo != sh.LicenceNo, c.NameSimilarity, c.DistanceM, radius, similarity)
		if conf < ReviewAbove {
			continue
		}
		a, b := lead, c.LeadID
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
	return withdrawUnfounded(ctx, q, sh, radius, similarity, now)
}

// withdrawUnfounded withdraws the shop's pairs waiting for review that its facts, as
// they stand now, no longer put there. Each pair is weighed again by itself (not only
// among the candidates found above, which are capped).
func withdrawUnfounded(ctx context.Context, q *matchingdb.Queries, sh matchingdb.GetShopRow, radius, similarity float64, now time.Time) error {
	pending, err := q.ShopPairsInReview(ctx, sh.LeadID)
	if err != nil {
		return err
	}
	for _, p := range pending {
		conf, _, _ := shopEvidence(sh.Phone != "" && p.Phone == sh.Phone, sh.LicenceNo != "" && p.LicenceNo == sh.LicenceNo,
			false, p.NameSimilarity, p.DistanceM, radius, similarity)
		if conf >= ReviewAbove {
			continue
		}
		if err := q.WithdrawShopMatch(ctx, matchingdb.WithdrawShopMatchParams{ID: p.ID, At: &now}); err != nil {
			return err
		}
	}
	return nil
}

// ListShopMatches lists shop matches, newest first (state review: the queue).
func (s *Service) ListShopMatches(ctx context.Context, p *identity.Principal, state string, limit int) ([]ShopMatch, error) {
	if _, err := p.Require(identity.PermOnboardingRead); err != nil {
		return nil, err
	}
	switch state {
	case "", LinkReview, LinkLinked, LinkRejected, LinkWithdrawn:
	default:
		return nil, errs.E(errs.KindInvalid, CodeInvalidList, "state is review, linked, rejected or withdrawn").WithField("state")
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
		out[i].AKind, out[i].AMerchant = shopKind(r.AOrigin, r.AArchived, r.AMerchant)
		out[i].BKind, out[i].BMerchant = shopKind(r.BOrigin, r.BArchived, r.BMerchant)
	}
	return out, nil
}

// shopKind says what a shop is now: live, lost, or a lead entered or imported.
func shopKind(origin string, archived bool, merchant uuid.NullUUID) (string, *uuid.UUID) {
	switch {
	case merchant.Valid:
		return ShopMerchant, &merchant.UUID
	case archived:
		return ShopLost, nil
	}
	return origin, nil
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
	if err := requireMemberRead(p, merchantObject); err != nil {
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
	if err := requireMemberRead(p, consumerObject); err != nil {
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
