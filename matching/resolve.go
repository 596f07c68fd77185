package matching

import (
	"cmp"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Identity resolution of consumers: the same person seen as two consumers (two apps
// without a unionid, a phone given in one and verified in the other). Resolve turns the
// identifiers of consumers into candidate pairs with evidence and a confidence, and a
// decision: merged automatically, or sent to the review queue.
//
// Confidence: each piece of evidence has a weight (the probability that two consumers
// sharing it are one person); independent pieces combine as 1 − Π(1 − w):
//
//	same openid in the same app          1.00  (WeChat's own identity of the user in an app)
//	same unionid                          0.99  (the same across the platform's apps)
//	same phone, verified on both sides    0.96  (numbers are recycled: not 1)
//	same phone, verified on one side      0.80
//	same phone, verified on neither       0.60
//
// Automatic merges only at AutoMergeAbove (0.95) or more and with no conflicting hard
// fact; pairs from ReviewAbove (0.5) go to the review queue. Hard facts that conflict
// (two different unionids, two different verified phones) never merge automatically,
// whatever else agrees: the pair goes to review with the conflict as evidence. An
// identifier shared by more than maxBlock consumers (a shop's phone, a test account)
// says nothing about any two of them and is ignored.
const (
	AutoMergeAbove = 0.95
	ReviewAbove    = 0.5
	maxBlock       = 20
)

// Evidence weights (see above).
const (
	weightOpenID         = 1.00
	weightUnionID        = 0.99
	weightPhoneVerified  = 0.96
	weightPhoneOneSide   = 0.80
	weightPhoneUnchecked = 0.60
)

// Evidence kinds.
const (
	EvidenceOpenID  = "openid"
	EvidenceUnionID = "unionid"
	EvidencePhone   = "phone"
	// Conflicts.
	ConflictUnionID = "different_unionid"
	ConflictPhone   = "different_verified_phone"
)

// Decision is what becomes of a candidate pair.
type Decision string

// Decisions.
const (
	DecisionAuto   Decision = "auto"
	DecisionReview Decision = "review"
)

// ConsumerRecord is what is known of one consumer's identifiers.
type ConsumerRecord struct {
	ConsumerID uuid.UUID
	OpenIDs    []AppOpenID
	UnionID    string
	Phones     []Phone
}

// AppOpenID is an openid in one app.
type AppOpenID struct{ AppID, OpenID string }

// Phone is a phone number and whether the consumer proved it (an SMS code, WeChat's
// getPhoneNumber).
type Phone struct {
	Number   string
	Verified bool
}

// Evidence is one reason for (or, as a conflict, against) a merge.
type Evidence struct {
	Kind   string  `json:"kind"`
	Value  string  `json:"value"` // phones masked
	Weight float64 `json:"weight"`
}

// Candidate is a pair of consumers that may be one person. A is the older id (UUIDv7:
// the first seen), which survives a merge.
type Candidate struct {
	A, B       uuid.UUID
	Confidence float64
	Evidence   []Evidence
	Conflicts  []Evidence
	Decision   Decision
}

// NormalizePhone keeps the digits of a mainland number without +86 or 0086: equal
// numbers compare equal however they were typed.
func NormalizePhone(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	for _, p := range []string{"0086", "86"} {
		if len(d) == len(p)+11 && strings.HasPrefix(d, p) {
			return d[len(p):]
		}
	}
	return d
}

func maskPhone(s string) string {
	if len(s) < 7 {
		return "****"
	}
	return s[:3] + "****" + s[len(s)-4:]
}

// Resolve finds the candidate pairs among records and decides each. Automatic merges
// are also checked as groups: a merge that would put two different verified phones (or
// unionids) into one person, through a third consumer, goes to review instead.
func Resolve(records []ConsumerRecord) []Candidate {
	byID := make(map[uuid.UUID]*ConsumerRecord, len(records))
	blocks := map[string][]uuid.UUID{}
	for i := range records {
		r := &records[i]
		byID[r.ConsumerID] = r
		seen := map[string]bool{}
		add := func(k string) {
			if !seen[k] {
				seen[k] = true
				blocks[k] = append(blocks[k], r.ConsumerID)
			}
		}
		for _, o := range r.OpenIDs {
			if o.OpenID != "" {
				add("o\x00" + o.AppID + "\x00" + o.OpenID)
			}
		}
		if r.UnionID != "" {
			add("u\x00" + r.UnionID)
		}
		for _, p := range r.Phones {
			if n := NormalizePhone(p.Number); n != "" {
				add("p\x00" + n)
			}
		}
	}
	type pair struct{ a, b uuid.UUID }
	pairs := map[pair]bool{}
	for _, ids := range blocks {
		if len(ids) < 2 || len(ids) > maxBlock {
			continue
		}
		for i, a := range ids {
			for _, b := range ids[i+1:] {
				if cmp.Compare(a.String(), b.String()) > 0 {
					a, b = b, a
				}
				pairs[pair{a, b}] = true
			}
		}
	}
	var out []Candidate
	for p := range pairs {
		c := compare(byID[p.a], byID[p.b])
		if c.Confidence >= ReviewAbove || len(c.Conflicts) > 0 {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(x, y Candidate) int {
		return cmp.Or(cmp.Compare(y.Confidence, x.Confidence), cmp.Compare(x.A.String(), y.A.String()), cmp.Compare(x.B.String(), y.B.String()))
	})
	// Groups: union the automatic merges, strongest first, unless the groups joined
	// would hold conflicting hard facts.
	uf := newGroups(records)
	for i := range out {
		c := &out[i]
		if c.Decision != DecisionAuto {
			continue
		}
		if conflict := uf.conflict(c.A, c.B); conflict != nil {
			c.Decision = DecisionReview
			c.Conflicts = append(c.Conflicts, *conflict)
			continue
		}
		uf.union(c.A, c.B)
	}
	return out
}

// compare weighs the evidence between two consumers.
func compare(a, b *ConsumerRecord) Candidate {
	if a.ConsumerID.String() > b.ConsumerID.String() {
		a, b = b, a
	}
	c := Candidate{A: a.ConsumerID, B: b.ConsumerID}
	for _, x := range a.OpenIDs {
		for _, y := range b.OpenIDs {
			if x.OpenID != "" && x == y {
				c.Evidence = append(c.Evidence, Evidence{Kind: EvidenceOpenID, Value: x.AppID + ":" + x.OpenID, Weight: weightOpenID})
			}
		}
	}
	if a.UnionID != "" && b.UnionID != "" {
		if a.UnionID == b.UnionID {
			c.Evidence = append(c.Evidence, Evidence{Kind: EvidenceUnionID, Value: a.UnionID, Weight: weightUnionID})
		} else {
			c.Conflicts = append(c.Conflicts, Evidence{Kind: ConflictUnionID, Value: a.UnionID + " ≠ " + b.UnionID})
		}
	}
	for _, x := range a.Phones {
		for _, y := range b.Phones {
			nx, ny := NormalizePhone(x.Number), NormalizePhone(y.Number)
			switch {
			case nx == "" || ny == "":
			case nx == ny:
				w := weightPhoneUnchecked
				if x.Verified && y.Verified {
					w = weightPhoneVerified
				} else if x.Verified || y.Verified {
					w = weightPhoneOneSide
				}
				c.Evidence = append(c.Evidence, Evidence{Kind: EvidencePhone, Value: maskPhone(nx), Weight: w})
			case x.Verified && y.Verified && !hasVerified(a.Phones, ny) && !hasVerified(b.Phones, nx):
				c.Conflicts = append(c.Conflicts, Evidence{Kind: ConflictPhone, Value: maskPhone(nx) + " ≠ " + maskPhone(ny)})
			}
		}
	}
	miss := 1.0
	for _, e := range c.Evidence {
		miss *= 1 - e.Weight
	}
	c.Confidence = 1 - miss
	c.Decision = DecisionReview
	if c.Confidence >= AutoMergeAbove && len(c.Conflicts) == 0 {
		c.Decision = DecisionAuto
	}
	return c
}

func hasVerified(ps []Phone, n string) bool {
	for _, p := range ps {
		if p.Verified && NormalizePhone(p.Number) == n {
			return true
		}
	}
	return false
}

// groups is a union-find over consumers that keeps each group's hard facts.
type groups struct {
	parent  map[uuid.UUID]uuid.UUID
	unions  map[uuid.UUID]map[string]bool
	phones  map[uuid.UUID]map[string]bool
	records map[uuid.UUID]*ConsumerRecord
}

func newGroups(records []ConsumerRecord) *groups {
	g := &groups{parent: map[uuid.UUID]uuid.UUID{}, unions: map[uuid.UUID]map[string]bool{}, phones: map[uuid.UUID]map[string]bool{},
		records: map[uuid.UUID]*ConsumerRecord{}}
	for i := range records {
		g.records[records[i].ConsumerID] = &records[i]
	}
	return g
}

func (g *groups) find(x uuid.UUID) uuid.UUID {
	p, ok := g.parent[x]
	if !ok {
		g.parent[x] = x
		r := g.records[x]
		g.unions[x], g.phones[x] = map[string]bool{}, map[string]bool{}
		if r != nil {
			if r.UnionID != "" {
				g.unions[x][r.UnionID] = true
			}
			for _, ph := range r.Phones {
				if ph.Verified {
					g.phones[x][NormalizePhone(ph.Number)] = true
				}
			}
		}
		return x
	}
	if p == x {
		return x
	}
	root := g.find(p)
	g.parent[x] = root
	return root
}

// conflict is the hard fact two groups disagree on, or nil.
func (g *groups) conflict(a, b uuid.UUID) *Evidence {
	ra, rb := g.find(a), g.find(b)
	if ra == rb {
		return nil
	}
	if disjoint(g.unions[ra], g.unions[rb]) {
		return &Evidence{Kind: ConflictUnionID, Value: "group"}
	}
	if disjoint(g.phones[ra], g.phones[rb]) {
		return &Evidence{Kind: ConflictPhone, Value: "group"}
	}
	return nil
}

// disjoint: both sets hold something and share nothing.
func disjoint(a, b map[string]bool) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	for k := range a {
		if b[k] {
			return false
		}
	}
	return true
}

func (g *groups) union(a, b uuid.UUID) {
	ra, rb := g.find(a), g.find(b)
	if ra == rb {
		return
	}
	g.parent[rb] = ra
	for k := range g.unions[rb] {
		g.unions[ra][k] = true
	}
	for k := range g.phones[rb] {
		g.phones[ra][k] = true
	}
}
