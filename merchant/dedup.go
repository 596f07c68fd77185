package merchant

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// De-duplication runs on create, edit and import, across every scope: the same phone
// (mobile or landline, normalised by normalizePhone), the same business licence number
// (统一社会信用代码, checksum-validated), or a similar name (pg_trgm similarity at least
// DedupSimilarity) within DedupRadiusM metres (PostGIS). It is symmetric: each test
// compares the two shops the same way whichever came first. The refusal tells who
// holds the existing shop (a name and a team, or its pool), never its data or id.

// Dedup reasons.
const (
	DupPhone   = "phone"
	DupLicence = "licence_no"
	DupNearby  = "name_nearby"
)

// Duplicate is an existing shop a new or edited one matches, as anyone may see it.
type Duplicate struct {
	Reason string `json:"reason"` // phone, licence_no, name_nearby
	HeldBy string `json:"held_by"`
	Team   string `json:"team"`
	Pool   string `json:"pool,omitempty"` // when in a pool
	leadID uuid.UUID
}

// candidate is what dedup compares.
type candidate struct {
	phone, licence, name string
	lat, lng             float64
	exclude              uuid.UUID // the lead being edited
}

// findDuplicates returns the existing shops c matches, the exact keys first.
func (s *Service) findDuplicates(ctx context.Context, db merchantdb.DBTX, c candidate) ([]Duplicate, error) {
	q := merchantdb.New(db)
	var out []Duplicate
	seen := map[uuid.UUID]bool{}
	add := func(reason string, l merchantdb.MerchantLead) error {
		if l.ID == c.exclude || seen[l.ID] {
			return nil
		}
		seen[l.ID] = true
		d, err := s.describe(ctx, q, l)
		d.Reason = reason
		out = append(out, d)
		return err
	}
	if c.phone != "" {
		l, err := q.GetLeadByPhone(ctx, c.phone)
		if err == nil {
			err = add(DupPhone, l)
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
	}
	if c.licence != "" {
		l, err := q.GetLeadByLicence(ctx, &c.licence)
		if err == nil {
			err = add(DupLicence, l)
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
	}
	if c.name != "" && (c.lat != 0 || c.lng != 0) {
		ids, err := nearbySimilar(ctx, db, c, s.cfg.DedupRadiusM, s.cfg.DedupSimilarity)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			l, err := q.GetLead(ctx, id)
			if err != nil {
				return nil, err
			}
			if err := add(DupNearby, l); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// nearBox is the box, in degrees, around the point ($lat, $lng) that holds every point
// within $radius metres (a degree of latitude is at least 110 km, one of longitude at
// least 110 km times the cosine of the farthest latitude): the probe of
// leads_near_name_idx, whose first column is the point, before the exact
// geography distance. Its parameters are named by the caller's placeholders.
func nearBox(lat, lng, radius string) string {
	return fmt.Sprintf(`ST_SetSRID(ST_MakePoint(l.lng, l.lat), 4326) && ST_Expand(ST_SetSRID(ST_MakePoint(%[2]s, %[1]s), 4326),
    %[3]s / (110000 * greatest(cos(radians(least(abs(%[1]s) + %[3]s / 110000, 89.9))), 0.001)), %[3]s / 110000)
  AND ST_DWithin(ST_SetSRID(ST_MakePoint(l.lng, l.lat), 4326)::geography, ST_SetSRID(ST_MakePoint(%[2]s, %[1]s), 4326)::geography, %[3]s)`,
		lat, lng, radius)
}

// nearbySimilarSQL finds leads within $3 metres of ($1, $2) whose name is at least $5
// alike to $4: the box probes leads_near_name_idx, and the few shops in it are compared.
var nearbySimilarSQL = `
SELECT l.id FROM merchant.leads l
WHERE ` + nearBox("$1::float8", "$2::float8", "$3::float8") + `
  AND similarity(l.name, $4) >= $5 AND l.id <> $6
ORDER BY similarity(l.name, $4) DESC, l.id
LIMIT 3`

// nearbySimilar finds leads within radius metres whose name is similar to c's.
func nearbySimilar(ctx context.Context, db merchantdb.DBTX, c candidate, radius, similarity float64) ([]uuid.UUID, error) {
	rows, err := db.Query(ctx, nearbySimilarSQL, c.lat, c.lng, radius, c.name, similarity, c.exclude)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// describe says who holds l: the owner's name and team, or the pool.
func (s *Service) describe(ctx context.Context, q *merchantdb.Queries, l merchantdb.MerchantLead) (Duplicate, error) {
	d := Duplicate{leadID: l.ID}
	if l.OwnerID.Valid {
		m, err := s.member(ctx, l.OwnerID.UUID)
		if err != nil {
			return d, err
		}
		d.HeldBy, d.Team = m.Name, m.Team
		return d, nil
	}
	pool, err := q.GetPool(ctx, l.PoolID)
	if err != nil {
		return d, err
	}
	d.Pool = pool.Name
	return d, nil
}

// duplicateError is the refusal naming the first duplicate.
func duplicateError(d Duplicate) error {
	holder := "the pool " + d.Pool
	switch {
	case d.HeldBy == "" && d.Pool == "":
		holder = "someone else"
	case d.HeldBy != "":
		holder = d.HeldBy
		if d.Team != "" {
			holder += " of " + d.Team
		}
	}
	field := d.Reason
	if field == DupNearby {
		field = "name"
	}
	what := map[string]string{DupPhone: "the same phone", DupLicence: "the same business licence number",
		DupNearby: "a similar name close by"}[d.Reason]
	// The console composes the holder in the reader's language from its parts; the
	// API's message is English.
	return &Refusal{Err: &errs.Error{Kind: errs.KindConflict, Code: CodeDuplicate, Field: field,
		Message: fmt.Sprintf("this shop already exists (%s): held by %s", what, holder)},
		Params: map[string]any{"Reason": d.Reason, "Name": d.HeldBy, "Team": d.Team, "Pool": d.Pool}}
}

// CheckDuplicates answers the console's live hints: the shops a lead being typed
// would duplicate, as anyone may see them.
func (s *Service) CheckDuplicates(ctx context.Context, p *identity.Principal, in NewLead) ([]Duplicate, error) {
	if err := principal(p); err != nil {
		return nil, err
	}
	if _, err := p.Require(identity.PermLeadWrite); err != nil {
		return nil, err
	}
	c := candidate{name: strings.TrimSpace(in.Name), lat: in.Lat, lng: in.Lng}
	if strings.TrimSpace(in.Phone) != "" {
		phone, err := normalizePhone(in.Phone)
		if err != nil {
			return nil, err
		}
		c.phone = phone
	}
	if strings.TrimSpace(in.LicenceNo) != "" {
		lic, err := NormalizeLicence(in.LicenceNo)
		if err != nil {
			return nil, err
		}
		c.licence = lic
	}
	out, err := s.findDuplicates(ctx, s.db, c)
	if err != nil {
		return nil, fmt.Errorf("merchant: duplicates: %w", pg.Classify(err))
	}
	if out == nil {
		out = []Duplicate{}
	}
	return out, nil
}

// licenceChars are the characters of a 统一社会信用代码 (GB 32100-2015): digits and
// capitals without I, O, S, V and Z; weights are 3^i mod 31.
const licenceChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var licenceWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// NormalizeLicence checks a unified social credit code: 18 characters of the code's
// alphabet whose last is the checksum of the first 17. Lowercase and spaces are forgiven.
func NormalizeLicence(s string) (string, error) {
	s = licenceForm(s)
	if fault, char := licenceFault(s); fault != "" {
		msg, _ := fillReason(importEnglish[fault], []string{"char", char})
		return "", errs.Invalidf("licence_no", "%s", msg)
	}
	return s, nil
}

// licenceForm is s as a code is compared: upper case, without spaces.
func licenceForm(s string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
}

// licenceFault is what is wrong with the normalised code s ("" when nothing), with
// the character at fault (quoted) for ImportLicenceCharacter.
func licenceFault(s string) (ImportReasonCode, string) {
	if len(s) != 18 {
		return ImportLicenceLength, ""
	}
	sum := 0
	for i := range 17 {
		v := strings.IndexByte(licenceChars, s[i])
		if v < 0 {
			return ImportLicenceCharacter, fmt.Sprintf("%q", s[i])
		}
		sum += v * licenceWeights[i]
	}
	if check := (31 - sum%31) % 31; s[17] != licenceChars[check] {
		return ImportLicenceCheck, ""
	}
	return "", ""
}
