package merchant

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// A pool (公海) belongs to an org unit: a team's or a city's. Its members may see and
// claim its leads: every user of its unit, and the users added as members. Its admins
// set its rules: the users added as admins, and whoever holds merchant.lead.assign
// over its unit (the team lead of a team pool, the city manager of every pool in the
// city). A lead belongs to one pool, the pool of the unit it was created in, and goes
// back there when released or reclaimed.

// PoolRules are a pool's claim and reclaim rules; 0 switches a rule off (the holding
// cap is always on).
type PoolRules struct {
	HoldingCap          int `json:"holding_cap"`            // open leads a rep may hold
	DailyQuota          int `json:"daily_quota"`            // claims a rep may make a day (Asia/Shanghai)
	CooldownDays        int `json:"cooldown_days"`          // a former owner may claim the lead again after this many calendar days
	ProtectHours        int `json:"protect_hours"`          // a lead back in the pool is claimable after this many hours
	ReclaimFollowUpDays int `json:"reclaim_follow_up_days"` // reclaimed with no follow-up for this many calendar days
	ReclaimUnsignedDays int `json:"reclaim_unsigned_days"`  // reclaimed when not signed this many calendar days after the claim
	RemindDays          int `json:"remind_days"`            // the owner is reminded this many days before a reclaim
	// ReclaimContractEndedDays: reclaimed this many calendar days after the shop's
	// contract ended (its latest active or terminated contract's end date), whatever the stage.
	ReclaimContractEndedDays int `json:"reclaim_contract_ended_days"`
	// Levels are the reclaim rules for leads of a level, in place of the three above.
	Levels []LevelRules `json:"levels"`
}

// LevelRules are a pool's reclaim rules for the leads of one level (A, B, C...).
type LevelRules struct {
	Level                    string `json:"level"`
	ReclaimFollowUpDays      int    `json:"reclaim_follow_up_days"`
	ReclaimUnsignedDays      int    `json:"reclaim_unsigned_days"`
	ReclaimContractEndedDays int    `json:"reclaim_contract_ended_days"`
}

// Pool is a pool as its reader sees it.
type Pool struct {
	ID        uuid.UUID  `json:"id"`
	OrgUnitID *uuid.UUID `json:"org_unit_id"`
	Name      string     `json:"name"`
	PoolRules
	Member    bool      `json:"member"` // the reader may claim from it
	Admin     bool      `json:"admin"`  // the reader may set its rules
	UpdatedAt time.Time `json:"updated_at"`
}

func rulesOf(p merchantdb.MerchantPool) PoolRules {
	return PoolRules{HoldingCap: int(p.HoldingCap), DailyQuota: int(p.DailyQuota), CooldownDays: int(p.CooldownDays),
		ProtectHours: int(p.ProtectHours), ReclaimFollowUpDays: int(p.ReclaimFollowupDays),
		ReclaimUnsignedDays: int(p.ReclaimUnsignedDays), RemindDays: int(p.RemindDays),
		ReclaimContractEndedDays: int(p.ReclaimContractEndedDays), Levels: []LevelRules{}}
}

// withLevels fills the pools' level rules.
func withLevels(ctx context.Context, q *merchantdb.Queries, pools []Pool) error {
	ids := make([]uuid.UUID, len(pools))
	at := map[uuid.UUID]int{}
	for i, p := range pools {
		ids[i], at[p.ID] = p.ID, i
	}
	rows, err := q.ListPoolLevelRules(ctx, ids)
	if err != nil {
		return fmt.Errorf("merchant: level rules: %w", pg.Classify(err))
	}
	for _, r := range rows {
		i := at[r.PoolID]
		pools[i].Levels = append(pools[i].Levels, LevelRules{Level: r.Level, ReclaimFollowUpDays: int(r.ReclaimFollowupDays),
			ReclaimUnsignedDays: int(r.ReclaimUnsignedDays), ReclaimContractEndedDays: int(r.ReclaimContractEndedDays)})
	}
	return nil
}

func (r PoolRules) validate() error {
	switch {
	case r.HoldingCap < 1 || r.HoldingCap > 10000:
		return errs.Invalidf("holding_cap", "the holding cap is 1 to 10000 leads")
	case r.DailyQuota < 0 || r.DailyQuota > 10000:
		return errs.Invalidf("daily_quota", "the daily quota is 0 (none) to 10000 claims")
	case r.CooldownDays < 0 || r.CooldownDays > 365:
		return errs.Invalidf("cooldown_days", "the cooldown is 0 to 365 days")
	case r.ProtectHours < 0 || r.ProtectHours > 24*30:
		return errs.Invalidf("protect_hours", "the protection is 0 to 720 hours")
	case r.ReclaimFollowUpDays < 0 || r.ReclaimFollowUpDays > 365:
		return errs.Invalidf("reclaim_follow_up_days", "reclaim days are 0 (never) to 365")
	case r.ReclaimUnsignedDays < 0 || r.ReclaimUnsignedDays > 365:
		return errs.Invalidf("reclaim_unsigned_days", "reclaim days are 0 (never) to 365")
	case r.RemindDays < 0 || r.RemindDays > 30:
		return errs.Invalidf("remind_days", "reminders come 0 (none) to 30 days before")
	case r.ReclaimContractEndedDays < 0 || r.ReclaimContractEndedDays > 365:
		return errs.Invalidf("reclaim_contract_ended_days", "reclaim days are 0 (never) to 365")
	case len(r.Levels) > 26:
		return errs.Invalidf("levels", "at most one rule a level")
	}
	seen := map[string]bool{}
	for i := range r.Levels {
		l := &r.Levels[i]
		lv, err := normalizeLevel(l.Level)
		field := "levels[" + strconv.Itoa(i) + "]" // the binder's naming of the rule
		switch {
		case err != nil || lv == "":
			return errs.Invalidf(field+".level", "a level is one letter, A to Z")
		case seen[lv]:
			return errs.Invalidf(field+".level", "level %s has two rules", lv)
		case min(l.ReclaimFollowUpDays, l.ReclaimUnsignedDays, l.ReclaimContractEndedDays) < 0 ||
			max(l.ReclaimFollowUpDays, l.ReclaimUnsignedDays, l.ReclaimContractEndedDays) > 365:
			return errs.Invalidf(field, "reclaim days are 0 (never) to 365")
		}
		l.Level, seen[lv] = lv, true
	}
	return nil
}

// ensurePool returns the pool of an org unit, made with the configured defaults on
// first use.
// A new pool is named after its unit (through the Staff port: the name of the unit of
// the user who needs it), or "unassigned" for users with no unit.
func (s *Service) ensurePool(ctx context.Context, q *merchantdb.Queries, unit uuid.NullUUID, user uuid.UUID) (merchantdb.MerchantPool, error) {
	if pool, err := q.GetPoolByUnit(ctx, unit); err == nil {
		return pool, nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return pool, err
	}
	name := "unassigned"
	if unit.Valid {
		name = unit.UUID.String()
		if m, err := s.member(ctx, user); err == nil && m.Team != "" && m.OrgUnitID == unit.UUID {
			name = m.Team
		}
	}
	return q.EnsurePool(ctx, merchantdb.EnsurePoolParams{ID: newID(), OrgUnitID: unit, Name: name,
		HoldingCap: int32(s.cfg.HoldingCap), DailyQuota: int32(max(s.cfg.DailyQuota, 0)), CooldownDays: int32(max(s.cfg.CooldownDays, 0)), At: s.now()})
}

// membership is the caller's role in a pool: "", "member" or "admin".
func membership(ctx context.Context, q *merchantdb.Queries, p *identity.Principal, poolID uuid.UUID) (string, error) {
	return q.PoolMembership(ctx, merchantdb.PoolMembershipParams{PoolID: poolID, UserID: p.User.ID, UnitID: p.User.OrgUnitID})
}

// isPoolAdmin: an admin member, or a holder of merchant.lead.assign over the pool's unit.
func isPoolAdmin(p *identity.Principal, pool merchantdb.MerchantPool, role string) bool {
	if role == "admin" {
		return true
	}
	if !p.Can(identity.PermLeadAssign) {
		return false
	}
	sc := p.Scope(identity.PermLeadAssign)
	return sc.SeesAll() || pool.OrgUnitID.Valid && sc.Allows(identity.Row{OrgUnit: pool.OrgUnitID.UUID})
}

// ListPools lists the pools the caller belongs to, and those of the units they manage.
func (s *Service) ListPools(ctx context.Context, p *identity.Principal) ([]Pool, error) {
	if err := principal(p); err != nil {
		return nil, err
	}
	sc, err := p.Require(identity.PermLeadRead)
	if err != nil {
		return nil, err
	}
	q := merchantdb.New(s.db)
	if p.User.OrgUnitID.Valid {
		if _, err := s.ensurePool(ctx, q, p.User.OrgUnitID, p.User.ID); err != nil {
			return nil, fmt.Errorf("merchant: pools: %w", pg.Classify(err))
		}
	}
	rows, err := q.ListPools(ctx, merchantdb.ListPoolsParams{UserID: p.User.ID, UnitID: p.User.OrgUnitID,
		ScopeAll: sc.SeesAll(), ScopeOrgUnitIds: sc.OrgUnitIDs()})
	if err != nil {
		return nil, fmt.Errorf("merchant: pools: %w", pg.Classify(err))
	}
	out := make([]Pool, len(rows))
	for i, r := range rows {
		row := merchantdb.MerchantPool{ID: r.ID, OrgUnitID: r.OrgUnitID, Name: r.Name, HoldingCap: r.HoldingCap,
			DailyQuota: r.DailyQuota, CooldownDays: r.CooldownDays, ProtectHours: r.ProtectHours,
			ReclaimFollowupDays: r.ReclaimFollowupDays, ReclaimUnsignedDays: r.ReclaimUnsignedDays, RemindDays: r.RemindDays,
			ReclaimContractEndedDays: r.ReclaimContractEndedDays, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
		out[i] = poolView(p, row, r.MemberRole)
		out[i].Member = r.IsMember
	}
	return out, withLevels(ctx, q, out)
}

func poolView(p *identity.Principal, row merchantdb.MerchantPool, role string) Pool {
	return Pool{ID: row.ID, OrgUnitID: ptr(row.OrgUnitID), Name: row.Name, PoolRules: rulesOf(row),
		Member: role != "", Admin: isPoolAdmin(p, row, role), UpdatedAt: row.UpdatedAt.UTC()}
}

// GetPool returns a pool the caller belongs to or manages.
func (s *Service) GetPool(ctx context.Context, p *identity.Principal, id uuid.UUID) (Pool, error) {
	if err := principal(p); err != nil {
		return Pool{}, err
	}
	if _, err := p.Require(identity.PermLeadRead); err != nil {
		return Pool{}, err
	}
	q := merchantdb.New(s.db)
	row, role, err := readablePool(ctx, q, p, id)
	if err != nil {
		return Pool{}, err
	}
	out := []Pool{poolView(p, row, role)}
	return out[0], withLevels(ctx, q, out)
}

// readablePool loads a pool the caller belongs to or manages (404 otherwise).
func readablePool(ctx context.Context, q *merchantdb.Queries, p *identity.Principal, id uuid.UUID) (merchantdb.MerchantPool, string, error) {
	row, err := q.GetPool(ctx, id)
	if err != nil {
		return row, "", notFound(err, "merchant.pool")
	}
	role, err := membership(ctx, q, p, id)
	if err != nil {
		return row, "", err
	}
	sc := p.Scope(identity.PermLeadRead)
	if role == "" && !sc.SeesAll() && !(row.OrgUnitID.Valid && sc.Allows(identity.Row{OrgUnit: row.OrgUnitID.UUID})) {
		return row, "", errs.NotFound("merchant.pool")
	}
	return row, role, nil
}

// CodeNotPoolAdmin refuses a change of a pool's rules or members by a non-admin.
const CodeNotPoolAdmin = "merchant.not_pool_admin"

// adminPool loads a pool the caller administers, for update.
func adminPool(ctx context.Context, q *merchantdb.Queries, p *identity.Principal, id uuid.UUID) (merchantdb.MerchantPool, error) {
	row, role, err := readablePool(ctx, q, p, id)
	if err != nil {
		return row, err
	}
	if !isPoolAdmin(p, row, role) {
		return row, errs.E(errs.KindForbidden, CodeNotPoolAdmin, "only the pool's admins set its rules and members")
	}
	return row, nil
}

// SetPoolRules changes a pool's name and rules (its admins only); audited.
func (s *Service) SetPoolRules(ctx context.Context, p *identity.Principal, id uuid.UUID, name string, r PoolRules) (Pool, error) {
	if err := principal(p); err != nil {
		return Pool{}, err
	}
	if _, err := p.Require(identity.PermLeadRead); err != nil {
		return Pool{}, err
	}
	if name = strings.TrimSpace(name); name == "" {
		return Pool{}, errs.Invalidf("name", "a pool needs a name")
	}
	if err := r.validate(); err != nil {
		return Pool{}, err
	}
	var out Pool
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		before, err := adminPool(ctx, q, p, id)
		if err != nil {
			return err
		}
		row, err := q.UpdatePoolRules(ctx, merchantdb.UpdatePoolRulesParams{ID: id, Name: name, HoldingCap: int32(r.HoldingCap),
			DailyQuota: int32(r.DailyQuota), CooldownDays: int32(r.CooldownDays), ProtectHours: int32(r.ProtectHours),
			ReclaimFollowupDays: int32(r.ReclaimFollowUpDays), ReclaimUnsignedDays: int32(r.ReclaimUnsignedDays),
			RemindDays: int32(r.RemindDays), ReclaimContractEndedDays: int32(r.ReclaimContractEndedDays), At: s.now()})
		if err != nil {
			return err
		}
		if err := q.DeletePoolLevelRules(ctx, id); err != nil {
			return err
		}
		for _, l := range r.Levels {
			if err := q.InsertPoolLevelRule(ctx, merchantdb.InsertPoolLevelRuleParams{PoolID: id, Level: l.Level,
				ReclaimFollowupDays: int32(l.ReclaimFollowUpDays), ReclaimUnsignedDays: int32(l.ReclaimUnsignedDays),
				ReclaimContractEndedDays: int32(l.ReclaimContractEndedDays)}); err != nil {
				return err
			}
		}
		out = poolView(p, row, "")
		out.Admin = true
		if r.Levels != nil {
			out.Levels = r.Levels
		}
		return record(ctx, tx, p, "merchant.pool.rules", "merchant.pool", id,
			map[string]any{"name": before.Name, "rules": rulesOf(before)}, map[string]any{"name": name, "rules": r})
	})
	if err != nil {
		return Pool{}, fmt.Errorf("merchant: pool rules: %w", pg.Classify(err))
	}
	return out, nil
}

// PoolMember is an explicit member or admin of a pool.
type PoolMember struct {
	UserID  uuid.UUID `json:"user_id"`
	Name    string    `json:"name"`
	Role    string    `json:"role"` // member, admin
	AddedAt time.Time `json:"added_at"`
}

// SetPoolMember adds a user to a pool as a member or admin, or removes them (role "").
// The user must be in the caller's scope of merchant.lead.assign.
func (s *Service) SetPoolMember(ctx context.Context, p *identity.Principal, poolID, userID uuid.UUID, role string) error {
	if err := principal(p); err != nil {
		return err
	}
	if role != "" && role != "member" && role != "admin" {
		return errs.Invalidf("role", "role is member, admin or empty (remove)")
	}
	sc, err := p.Require(identity.PermLeadAssign)
	if err != nil {
		return err
	}
	who, err := s.member(ctx, userID)
	if err != nil || !sc.Allows(identity.Row{Owner: who.ID, OrgUnit: who.OrgUnitID}) {
		return errs.NotFound("merchant.user").WithField("user_id")
	}
	err = s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		if _, err := adminPool(ctx, q, p, poolID); err != nil {
			return err
		}
		if role == "" {
			if _, err := q.DeletePoolMember(ctx, merchantdb.DeletePoolMemberParams{PoolID: poolID, UserID: userID}); err != nil {
				return err
			}
		} else if err := q.UpsertPoolMember(ctx, merchantdb.UpsertPoolMemberParams{PoolID: poolID, UserID: userID, Role: role,
			AddedBy: p.User.ID, AddedAt: s.now()}); err != nil {
			return err
		}
		return record(ctx, tx, p, "merchant.pool.member", "merchant.pool", poolID, nil, map[string]any{"user_id": userID, "role": role})
	})
	if err != nil {
		return fmt.Errorf("merchant: pool member: %w", pg.Classify(err))
	}
	return nil
}

// PoolMembers lists a pool's explicit members and admins.
func (s *Service) PoolMembers(ctx context.Context, p *identity.Principal, poolID uuid.UUID) ([]PoolMember, error) {
	if err := principal(p); err != nil {
		return nil, err
	}
	if _, err := p.Require(identity.PermLeadRead); err != nil {
		return nil, err
	}
	q := merchantdb.New(s.db)
	if _, _, err := readablePool(ctx, q, p, poolID); err != nil {
		return nil, err
	}
	rows, err := q.ListPoolMembers(ctx, poolID)
	if err != nil {
		return nil, fmt.Errorf("merchant: pool members: %w", pg.Classify(err))
	}
	out := make([]PoolMember, len(rows))
	for i, r := range rows {
		who, err := s.member(ctx, r.UserID)
		if err != nil {
			who.Name = r.UserID.String()
		}
		out[i] = PoolMember{UserID: r.UserID, Name: who.Name, Role: r.Role, AddedAt: r.AddedAt.UTC()}
	}
	return out, nil
}

func orDefault(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}
