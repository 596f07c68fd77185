package offline

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
)

// Identities is a synthetic set of consumer records with planted duplicates, and the
// truth: which records are one person.
//
// Each person has an openid in one of 3 apps, a unionid with probability 0.6 and a phone
// with probability 0.8 (verified with probability 0.7). A planted duplicate is the same
// person in another app: a new openid, their unionid with probability 0.5, their phone
// with probability 0.8 (verified with probability 0.6). Noise: 1 % of people have a
// recycled number, the phone of another person (unverified), and 0.5 % a second verified
// phone, so that the hard-fact conflicts come up.
type Identities struct {
	Records []matching.ConsumerRecord
	Person  map[uuid.UUID]int
	Planted int // duplicate records
}

// GenerateIdentities makes n records of which a share are planted duplicates.
func GenerateIdentities(n int, dupShare float64, seed uint64) Identities {
	r := rand.New(rand.NewPCG(seed, 0x1d))
	people := int(float64(n) * (1 - dupShare))
	out := Identities{Person: make(map[uuid.UUID]int, n)}
	apps := []string{"wx-mini", "wx-service", "wx-shop"}
	phone := func(i int) string { return fmt.Sprintf("1%010d", 3_000_000_000+i) }
	type person struct {
		union, phone string
		verified     bool
	}
	ps := make([]person, people)
	for i := range people {
		p := person{}
		if r.Float64() < 0.6 {
			p.union = fmt.Sprintf("u-%d", i)
		}
		rec := matching.ConsumerRecord{ConsumerID: uuidFrom(r), OpenIDs: []matching.AppOpenID{{AppID: apps[r.IntN(3)], OpenID: fmt.Sprintf("o-%d", i)}},
			UnionID: p.union}
		if r.Float64() < 0.8 {
			p.phone, p.verified = phone(i), r.Float64() < 0.7
			if r.Float64() < 0.01 {
				p.phone, p.verified = phone(r.IntN(people)), false // a recycled number
			}
			rec.Phones = []matching.Phone{{Number: p.phone, Verified: p.verified}}
			if r.Float64() < 0.005 {
				rec.Phones = append(rec.Phones, matching.Phone{Number: phone(people + i), Verified: true})
			}
		}
		ps[i] = p
		out.Person[rec.ConsumerID] = i
		out.Records = append(out.Records, rec)
	}
	for out.Planted = 0; len(out.Records) < n; out.Planted++ {
		i := r.IntN(people)
		p := ps[i]
		rec := matching.ConsumerRecord{ConsumerID: uuidFrom(r),
			OpenIDs: []matching.AppOpenID{{AppID: apps[r.IntN(3)], OpenID: fmt.Sprintf("o-dup-%d", out.Planted)}}}
		if p.union != "" && r.Float64() < 0.5 {
			rec.UnionID = p.union
		}
		if p.phone != "" && r.Float64() < 0.8 {
			rec.Phones = []matching.Phone{{Number: p.phone, Verified: r.Float64() < 0.6}}
		}
		out.Person[rec.ConsumerID] = i
		out.Records = append(out.Records, rec)
	}
	return out
}

// ResolutionScore is how well Resolve's automatic merges match the truth.
type ResolutionScore struct {
	Records, Planted  int
	Auto, AutoCorrect int // automatic merges, and those of one person
	Review            int
	FoundPlanted      int // planted duplicates merged automatically with their person
	Precision, Recall float64
	ReviewRecall      float64 // planted duplicates merged or queued for review
	Took              time.Duration
	reviewPlanted     int
}

// ScoreResolution runs Resolve on the identities and scores it: precision is the share
// of automatic merges that join one person's records; recall the share of planted
// duplicates joined to their person by automatic merges (through the groups).
func ScoreResolution(ids Identities) ResolutionScore {
	start := time.Now()
	cands := matching.Resolve(ids.Records)
	s := ResolutionScore{Records: len(ids.Records), Planted: ids.Planted, Took: time.Since(start)}
	parent := map[uuid.UUID]uuid.UUID{}
	var find func(uuid.UUID) uuid.UUID
	find = func(x uuid.UUID) uuid.UUID {
		p, ok := parent[x]
		if !ok || p == x {
			return x
		}
		root := find(p)
		parent[x] = root
		return root
	}
	queued := map[uuid.UUID]bool{}
	for _, c := range cands {
		same := ids.Person[c.A] == ids.Person[c.B]
		if c.Decision == matching.DecisionAuto {
			s.Auto++
			if same {
				s.AutoCorrect++
			}
			parent[find(c.B)] = find(c.A)
		} else {
			s.Review++
			if same {
				queued[c.A], queued[c.B] = true, true
			}
		}
	}
	// A person's first record (the lowest index) is the original; the rest are planted.
	first := map[int]uuid.UUID{}
	for _, rec := range ids.Records {
		p := ids.Person[rec.ConsumerID]
		if _, ok := first[p]; !ok {
			first[p] = rec.ConsumerID
			continue
		}
		if find(rec.ConsumerID) == find(first[p]) {
			s.FoundPlanted++
			s.reviewPlanted++
		} else if queued[rec.ConsumerID] {
			s.reviewPlanted++
		}
	}
	if s.Auto > 0 {
		s.Precision = float64(s.AutoCorrect) / float64(s.Auto)
	}
	if s.Planted > 0 {
		s.Recall = float64(s.FoundPlanted) / float64(s.Planted)
		s.ReviewRecall = float64(s.reviewPlanted) / float64(s.Planted)
	}
	return s
}
