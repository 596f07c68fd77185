package consumer

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
	phonenum "github.com/tandemcrm/tandem/shared/phone"
)

// Genders of a profile ("" is not told).
const (
	GenderFemale = "female"
	GenderMale   = "male"
)

// Tag sources.
const (
	TagManual = "manual"
	TagRule   = "rule"
	TagImport = "import"
)

// Profile is what a member tells about themself or staff record for them.
type Profile struct {
	Name     string `json:"name"`
	Gender   string `json:"gender"`             // "", female, male
	Birthday string `json:"birthday,omitempty"` // yyyy-MM-dd
	City     string `json:"city"`
}

// Validate refuses a profile naming the field.
func (p Profile) Validate() error {
	switch {
	case utf8.RuneCountInString(p.Name) > 40:
		return errs.Invalidf("name", "name is at most 40 characters")
	case p.Gender != "" && p.Gender != GenderFemale && p.Gender != GenderMale:
		return errs.Invalidf("gender", `gender is "female", "male" or empty`)
	case utf8.RuneCountInString(p.City) > 40:
		return errs.Invalidf("city", "city is at most 40 characters")
	}
	if p.Birthday != "" {
		if _, err := time.Parse(time.DateOnly, p.Birthday); err != nil {
			return errs.Invalidf("birthday", "birthday is yyyy-MM-dd")
		}
	}
	return nil
}

// Label is a fact of the person, computed from the profile: gender, city, age band.
type Label struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Tag is what the business assigned a member, with its source and time.
type Tag struct {
	Tag       string    `json:"tag"`
	Source    string    `json:"source"`
	SourceRef string    `json:"source_ref,omitempty"`
	AddedBy   string    `json:"added_by,omitempty"`
	AddedAt   time.Time `json:"added_at"`
}

// labels are the facts a profile states, as of now.
func labels(p Profile, now time.Time) []Label {
	out := []Label{}
	if p.Gender != "" {
		out = append(out, Label{"gender", p.Gender})
	}
	if p.City != "" {
		out = append(out, Label{"city", p.City})
	}
	if b, err := time.Parse(time.DateOnly, p.Birthday); err == nil {
		age := now.In(shanghai).Year() - b.Year()
		if now.In(shanghai).YearDay() < b.YearDay() {
			age--
		}
		out = append(out, Label{"age_band", ageBand(age)})
	}
	return out
}

func ageBand(age int) string {
	switch {
	case age < 18:
		return "<18"
	case age < 25:
		return "18-24"
	case age < 35:
		return "25-34"
	case age < 45:
		return "35-44"
	case age < 60:
		return "45-59"
	}
	return "60+"
}

func birthdayOf(d pgtype.Date) string {
	if !d.Valid {
		return ""
	}
	return d.Time.Format(time.DateOnly)
}

// MemberSearch is what staff look members up by: Query is an id, a phone (the start or
// the end of it) or a name; Tag keeps the members with that tag (alone: all of them).
type MemberSearch struct {
	Query string
	Tag   string
}

// SearchMembers finds members by id, phone or name and by tag, for the staff caller
// (consumer.member.read at scope all), newest first.
func (s *Service) SearchMembers(ctx context.Context, caller *identity.Principal, in MemberSearch, limit int) ([]Member, error) {
	p, err := memberScope(caller, identity.PermMemberRead)
	if err != nil {
		return nil, err
	}
	query := strings.TrimSpace(in.Query)
	arg := consumerdb.SearchMembersParams{Lim: pg.PageLimit(limit), Tag: strings.TrimSpace(in.Tag)}
	if query == "" && arg.Tag == "" {
		return s.ListMembers(ctx, caller, uuid.Nil, limit)
	}
	if id, err := uuid.Parse(query); err == nil {
		arg.ID = id
	} else if _, err := strconv.ParseUint(strings.TrimPrefix(query, "+"), 10, 64); err == nil && len(query) >= 3 {
		arg.Phone = query
	} else {
		arg.Name = query
	}
	rows, err := consumerdb.New(s.db).SearchMembers(ctx, arg)
	if err != nil {
		return nil, wrap("search members", err)
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = Member{ID: r.ID, Phone: p.Phone(r.Phone), AppID: r.AppID, JoinedAt: r.JoinedAt, Name: r.Name,
			Points: r.Balance + r.Pending, Spendable: r.Balance, Pending: r.Pending, EarnedTotal: r.EarnedTotal}
	}
	return out, nil
}

// SetProfile records a member's profile (consumer.member.write at scope all, audited).
func (s *Service) SetProfile(ctx context.Context, caller *identity.Principal, id uuid.UUID, in Profile) error {
	p, err := memberScope(caller, identity.PermMemberWrite)
	if err != nil {
		return err
	}
	if err := in.Validate(); err != nil {
		return err
	}
	var bday pgtype.Date
	if in.Birthday != "" {
		t, _ := time.Parse(time.DateOnly, in.Birthday)
		bday = pgtype.Date{Time: t, Valid: true}
	}
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := consumerdb.New(tx)
		n, err := q.UpdateProfile(ctx, consumerdb.UpdateProfileParams{ID: id, Name: strings.TrimSpace(in.Name), Gender: in.Gender,
			Birthday: bday, City: strings.TrimSpace(in.City)})
		if err != nil {
			return err
		} else if n == 0 {
			return errs.NotFound(objMember)
		}
		if err := s.publishProfile(ctx, q, id, in); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "consumer.member.profile",
			ObjectType: objMember, ObjectID: id.String(), After: in})
	})
	return wrap("set profile", err)
}

func validTag(tag string) (string, error) {
	tag = strings.TrimSpace(tag)
	if n := utf8.RuneCountInString(tag); n == 0 || n > 40 {
		return "", errs.Invalidf("tag", "a tag is 1 to 40 characters")
	}
	return tag, nil
}

// AddTag tags a member by hand (consumer.member.write at scope all, audited). Tagging
// twice keeps the first tag, its source and time.
func (s *Service) AddTag(ctx context.Context, caller *identity.Principal, id uuid.UUID, tag string) error {
	p, err := memberScope(caller, identity.PermMemberWrite)
	if err != nil {
		return err
	}
	if tag, err = validTag(tag); err != nil {
		return err
	}
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := consumerdb.New(tx)
		if _, err := lock(ctx, q, id); errors.Is(err, errNotMember) {
			return errs.NotFound(objMember)
		} else if err != nil {
			return err
		}
		n, err := q.AddTag(ctx, consumerdb.AddTagParams{ConsumerID: id, Tag: tag, Source: TagManual, AddedBy: p.Actor().Login, AddedAt: s.now()})
		if err != nil || n == 0 {
			return err
		}
		if err := s.publishTags(ctx, q, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "consumer.member.tag",
			ObjectType: objMember, ObjectID: id.String(), After: map[string]string{"tag": tag}})
	})
	return wrap("add tag", err)
}

// RemoveTag removes a tag from a member, whatever its source (consumer.member.write,
// audited with the tag's source and time).
func (s *Service) RemoveTag(ctx context.Context, caller *identity.Principal, id uuid.UUID, tag string) error {
	p, err := memberScope(caller, identity.PermMemberWrite)
	if err != nil {
		return err
	}
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := consumerdb.New(tx)
		n, err := q.RemoveTag(ctx, consumerdb.RemoveTagParams{ConsumerID: id, Tag: tag})
		if err != nil {
			return err
		} else if n == 0 {
			return errs.NotFound("consumer.tag")
		}
		if err := s.publishTags(ctx, q, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "consumer.member.untag",
			ObjectType: objMember, ObjectID: id.String(), Before: map[string]string{"tag": tag}})
	})
	return wrap("remove tag", err)
}

// ImportResult is what a tag import did.
type ImportResult struct {
	Tagged  int      `json:"tagged"`
	Already int      `json:"already"`
	Unknown []string `json:"unknown"` // lines naming no member
}

// ImportTags tags the members named by lines (a member id or a phone each) with tag,
// source import and ref (the file's name), for the staff caller (consumer.member.write).
func (s *Service) ImportTags(ctx context.Context, caller *identity.Principal, tag, ref string, lines []string) (ImportResult, error) {
	p, err := memberScope(caller, identity.PermMemberWrite)
	if err != nil {
		return ImportResult{}, err
	}
	if tag, err = validTag(tag); err != nil {
		return ImportResult{}, err
	}
	if len(lines) > 10000 {
		return ImportResult{}, errs.Invalidf("lines", "import at most 10,000 members at a time")
	}
	var ids []uuid.UUID
	var phones []string
	written := map[string]string{} // stored form → as the file wrote it, for the report
	for _, l := range lines {
		l = strings.TrimSpace(strings.TrimPrefix(l, "\ufeff"))
		if l == "" {
			continue
		}
		if id, err := uuid.Parse(l); err == nil {
			ids = append(ids, id)
		} else if e164, err := phonenum.Normalize("phone", l); err == nil {
			phones = append(phones, e164)
			written[e164] = l
		} else {
			phones = append(phones, l)
			written[l] = l
		}
	}
	res := ImportResult{Unknown: []string{}}
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		res = ImportResult{Unknown: []string{}}
		q := consumerdb.New(tx)
		found, err := q.MembersExist(ctx, ids)
		if err != nil {
			return err
		}
		known := map[uuid.UUID]bool{}
		for _, id := range found {
			known[id] = true
		}
		for _, id := range ids {
			if !known[id] {
				res.Unknown = append(res.Unknown, id.String())
			}
		}
		byPhone, err := q.MemberIDsByPhone(ctx, phones)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, r := range byPhone {
			seen[r.Phone] = true
			found = append(found, r.ID)
		}
		for _, ph := range phones {
			if !seen[ph] {
				res.Unknown = append(res.Unknown, written[ph])
			}
		}
		now := s.now()
		for _, id := range found {
			n, err := q.AddTag(ctx, consumerdb.AddTagParams{ConsumerID: id, Tag: tag, Source: TagImport, SourceRef: ref, AddedBy: p.Actor().Login, AddedAt: now})
			if err != nil {
				return err
			}
			if n == 1 {
				res.Tagged++
				if err := s.publishTags(ctx, q, id); err != nil {
					return err
				}
			} else {
				res.Already++
			}
		}
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "consumer.member.tag_import",
			ObjectType: "consumer.tag", ObjectID: tag, After: map[string]any{"ref": ref, "tagged": res.Tagged, "unknown": len(res.Unknown)}})
	})
	return res, wrap("import tags", err)
}

// TagByRule tags members because a rule (ruleRef, e.g. a segment of consumer/marketing)
// matched them: the published way for other parts to tag. Once per member and tag.
func (s *Service) TagByRule(ctx context.Context, tag, ruleRef string, members []uuid.UUID) (int, error) {
	tag, err := validTag(tag)
	if err != nil {
		return 0, err
	}
	var tagged int
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		tagged = 0
		q := consumerdb.New(tx)
		for _, id := range members {
			n, err := q.AddTag(ctx, consumerdb.AddTagParams{ConsumerID: id, Tag: tag, Source: TagRule, SourceRef: ruleRef, AddedBy: "rule", AddedAt: s.now()})
			if pg.IsForeignKeyViolation(err, "member_tags_consumer_id_fkey") {
				return errs.NotFound(objMember)
			} else if err != nil {
				return err
			}
			if n == 1 {
				if err := s.publishTags(ctx, q, id); err != nil {
					return err
				}
			}
			tagged += int(n)
		}
		return nil
	})
	return tagged, wrap("tag by rule", err)
}

// MemberTags is a member's tags, oldest first: the published read for other parts
// (consumer/marketing's segments). It takes no caller; callers check their own access.
func (s *Service) MemberTags(ctx context.Context, id uuid.UUID) ([]Tag, error) {
	rows, err := consumerdb.New(s.db).MemberTags(ctx, id)
	if err != nil {
		return nil, wrap("member tags", err)
	}
	out := make([]Tag, len(rows))
	for i, r := range rows {
		out[i] = Tag{Tag: r.Tag, Source: r.Source, SourceRef: r.SourceRef, AddedBy: r.AddedBy, AddedAt: r.AddedAt}
	}
	return out, nil
}

// TagCount is how many members carry a tag.
type TagCount struct {
	Tag     string `json:"tag"`
	Members int64  `json:"members"`
}

// Tags is every tag in use and how many members carry it (consumer.member.read).
func (s *Service) Tags(ctx context.Context, caller *identity.Principal) ([]TagCount, error) {
	if _, err := memberScope(caller, identity.PermMemberRead); err != nil {
		return nil, err
	}
	rows, err := consumerdb.New(s.db).TagCounts(ctx)
	if err != nil {
		return nil, wrap("tags", err)
	}
	out := make([]TagCount, len(rows))
	for i, r := range rows {
		out[i] = TagCount{Tag: r.Tag, Members: r.Members}
	}
	return out, nil
}

// Member360 is one member on one page: profile, labels, tags, points with lots and
// entries, tier and its history.
type Member360 struct {
	Member  Member       `json:"member"`
	Profile Profile      `json:"profile"`
	Labels  []Label      `json:"labels"`
	Tags    []Tag        `json:"tags"`
	Points  PointsView   `json:"points"`
	Entries []Entry      `json:"entries"`
	Tier    TierStatus   `json:"tier"`
	History []TierChange `json:"tier_history"`
	// Orders are the member's paid orders (from billing's events), newest first.
	Orders []MemberOrder `json:"orders"`
	// Referred are the members they referred; ReferredBy who referred them.
	Referred   []Referral `json:"referred"`
	ReferredBy *Referral  `json:"referred_by,omitempty"`
	// Notices are what the member was told (a tier-drop notice), newest first.
	Notices []Notice `json:"notices"`
}

// Member360 is a member's whole picture for the staff caller (consumer.member.read).
func (s *Service) Member360(ctx context.Context, caller *identity.Principal, id uuid.UUID) (Member360, error) {
	m, err := s.GetMember(ctx, caller, id)
	if err != nil {
		return Member360{}, err
	}
	row, err := s.memberRow(ctx, id)
	if err != nil {
		return Member360{}, err
	}
	out := Member360{Member: m, Profile: Profile{Name: row.Name, Gender: row.Gender, Birthday: birthdayOf(row.Birthday), City: row.City}}
	out.Labels = labels(out.Profile, s.now())
	if out.Tags, err = s.MemberTags(ctx, id); err != nil {
		return Member360{}, err
	}
	if out.Points, err = s.pointsView(ctx, id); err != nil {
		return Member360{}, err
	}
	if out.Entries, err = s.ledger(ctx, id, uuid.Nil, 50); err != nil {
		return Member360{}, err
	}
	if out.Tier, err = s.MemberTier(ctx, id); err != nil {
		return Member360{}, err
	}
	if out.History, err = s.tierHistory(ctx, id); err != nil {
		return Member360{}, err
	}
	sc, _ := memberScope(caller, identity.PermMemberRead)
	if out.Orders, out.Referred, out.ReferredBy, err = s.activity(ctx, id, sc.Phone); err != nil {
		return Member360{}, err
	}
	if out.Notices, err = s.notices(ctx, id); err != nil {
		return Member360{}, err
	}
	return out, nil
}

func pgDate(t time.Time) pgtype.Date { return pgtype.Date{Time: t, Valid: !t.IsZero()} }
