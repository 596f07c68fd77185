package merchant

import (
	"context"
	"encoding/json"
	"fmt"
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

// Assignment rules (分配规则) route new and imported leads. The rules of a unit (a
// city, edited by whoever holds merchant.lead.assign over it) are ordered by position;
// a lead made in the unit or below (by its creator, or imported into a pool of it) is
// routed by the first rule whose territory holds it: a district list (a district named
// in the lead's address) or a polygon (the lead's position inside it, PostGIS). Rules of
// the nearest unit come first. The lead then belongs to the rule's team (its pool) and
// goes to a rep of the team: round robin (in turn, skipping reps at capacity) or by
// load (the rep holding the fewest open leads), never above the rule's capacity nor the
// team pool's holding cap. With every rep full it waits in the team's pool.

// Assignment methods.
const (
	MethodRoundRobin = "round_robin"
	MethodLoad       = "load"
)

// AssignmentRule is one rule as its editor sees it.
type AssignmentRule struct {
	ID          uuid.UUID       `json:"id"`
	OwnerUnitID uuid.UUID       `json:"owner_unit_id"`
	Position    int             `json:"position"`
	Name        string          `json:"name"`
	Districts   []string        `json:"districts"`
	Area        json.RawMessage `json:"area,omitempty"` // GeoJSON Polygon or MultiPolygon
	TeamUnitID  uuid.UUID       `json:"team_unit_id"`
	Method      string          `json:"method"`
	Capacity    int             `json:"capacity"` // 0: the team pool's holding cap
	Enabled     bool            `json:"enabled"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// RuleInput is what creating or changing a rule takes.
type RuleInput struct {
	OwnerUnitID uuid.UUID       `json:"owner_unit_id"` // uuid.Nil: the editor's own unit
	Position    int             `json:"position"`
	Name        string          `json:"name"`
	Districts   []string        `json:"districts"`
	Area        json.RawMessage `json:"area"`
	TeamUnitID  uuid.UUID       `json:"team_unit_id"`
	Method      string          `json:"method"`
	Capacity    int             `json:"capacity"`
	Enabled     bool            `json:"enabled"`
}

func (in *RuleInput) validate(p *identity.Principal, sc identity.Scope) error {
	in.Name = strings.TrimSpace(in.Name)
	ds := []string{}
	for _, d := range in.Districts {
		if d = strings.TrimSpace(d); d != "" && !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	in.Districts = ds
	if in.OwnerUnitID == uuid.Nil {
		in.OwnerUnitID = p.User.OrgUnitID.UUID
	}
	area := strings.TrimSpace(string(in.Area))
	if area == "null" {
		area = ""
	}
	in.Area = json.RawMessage(area)
	switch {
	case in.Name == "" || len([]rune(in.Name)) > 100:
		return errs.Invalidf("name", "a rule's name has 1 to 100 characters")
	case in.OwnerUnitID == uuid.Nil || !sc.Allows(identity.Row{OrgUnit: in.OwnerUnitID}):
		return errs.Invalidf("owner_unit_id", "the rules belong to a unit you manage")
	case in.Position < 0 || in.Position > 10000:
		return errs.Invalidf("position", "the position is 0 to 10000")
	case len(in.Districts) == 0 && area == "":
		return errs.Invalidf("districts", "name the territory: districts, a polygon, or both")
	case len(in.Districts) > 100:
		return errs.Invalidf("districts", "at most 100 districts a rule")
	case in.TeamUnitID == uuid.Nil || !sc.Allows(identity.Row{OrgUnit: in.TeamUnitID}):
		return errs.Invalidf("team_unit_id", "the team is a unit you manage")
	case in.Method != MethodRoundRobin && in.Method != MethodLoad:
		return errs.Invalidf("method", "the method is round_robin or load")
	case in.Capacity < 0 || in.Capacity > 10000:
		return errs.Invalidf("capacity", "the capacity is 0 (the pool's holding cap) to 10000 leads")
	}
	if area != "" {
		var g struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(in.Area, &g); err != nil || (g.Type != "Polygon" && g.Type != "MultiPolygon") {
			return errs.Invalidf("area", "the area is a GeoJSON Polygon or MultiPolygon (longitude, latitude)")
		}
	}
	return nil
}

// ruleColumns are what every rule query reads (the area as GeoJSON).
const ruleColumns = `id, owner_unit_id, position, name, districts, coalesce(ST_AsGeoJSON(area), ''), team_unit_id, method, capacity, enabled, updated_at`

func scanRule(row pgx.Row) (AssignmentRule, error) {
	var r AssignmentRule
	var area string
	err := row.Scan(&r.ID, &r.OwnerUnitID, &r.Position, &r.Name, &r.Districts, &area, &r.TeamUnitID, &r.Method, &r.Capacity, &r.Enabled, &r.UpdatedAt)
	if area != "" {
		r.Area = json.RawMessage(area)
	}
	r.UpdatedAt = r.UpdatedAt.UTC()
	return r, err
}

// ListAssignmentRules lists the rules of the units in the caller's scope of
// merchant.lead.assign, in the order they are tried.
func (s *Service) ListAssignmentRules(ctx context.Context, p *identity.Principal) ([]AssignmentRule, error) {
	if err := principal(p); err != nil {
		return nil, err
	}
	sc, err := p.Require(identity.PermLeadAssign)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+ruleColumns+` FROM merchant.assignment_rules
WHERE $1::bool OR owner_unit_id = ANY($2::uuid[]) ORDER BY owner_unit_id, position, created_at, id`, sc.SeesAll(), sc.OrgUnitIDs())
	if err != nil {
		return nil, fmt.Errorf("merchant: rules: %w", pg.Classify(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AssignmentRule, error) { return scanRule(r) })
	if err != nil {
		return nil, fmt.Errorf("merchant: rules: %w", pg.Classify(err))
	}
	return out, nil
}

// GetAssignmentRule returns one rule of a unit the caller manages.
func (s *Service) GetAssignmentRule(ctx context.Context, p *identity.Principal, id uuid.UUID) (AssignmentRule, error) {
	if err := principal(p); err != nil {
		return AssignmentRule{}, err
	}
	sc, err := p.Require(identity.PermLeadAssign)
	if err != nil {
		return AssignmentRule{}, err
	}
	r, err := scanRule(s.db.QueryRow(ctx, `SELECT `+ruleColumns+` FROM merchant.assignment_rules WHERE id = $1`, id))
	if err != nil {
		return AssignmentRule{}, notFound(err, "merchant.assignment_rule")
	}
	if !sc.Allows(identity.Row{OrgUnit: r.OwnerUnitID}) {
		return AssignmentRule{}, errs.NotFound("merchant.assignment_rule")
	}
	return r, nil
}

// SaveAssignmentRule creates a rule (id uuid.Nil) or changes one, audited.
func (s *Service) SaveAssignmentRule(ctx context.Context, p *identity.Principal, id uuid.UUID, in RuleInput) (AssignmentRule, error) {
	if err := principal(p); err != nil {
		return AssignmentRule{}, err
	}
	sc, err := p.Require(identity.PermLeadAssign)
	if err != nil {
		return AssignmentRule{}, err
	}
	if err := in.validate(p, sc); err != nil {
		return AssignmentRule{}, err
	}
	seen, err := s.unitsSeen(ctx, p)
	if err != nil {
		return AssignmentRule{}, err
	}
	for _, f := range []struct {
		name string
		unit uuid.UUID
	}{{"owner_unit_id", in.OwnerUnitID}, {"team_unit_id", in.TeamUnitID}} {
		if !seen(f.unit) {
			return AssignmentRule{}, errs.Invalidf(f.name, "no such unit")
		}
	}
	var before any
	if id != uuid.Nil {
		old, err := s.GetAssignmentRule(ctx, p, id)
		if err != nil {
			return AssignmentRule{}, err
		}
		before = old
	}
	var area *string
	if len(in.Area) > 0 {
		a := string(in.Area)
		area = &a
	}
	now := s.now()
	var out AssignmentRule
	err = s.inTx(ctx, func(tx pgx.Tx, _ *merchantdb.Queries) error {
		if area != nil {
			if err := validArea(ctx, tx, *area); err != nil {
				return err
			}
		}
		var row pgx.Row
		if id == uuid.Nil {
			row = tx.QueryRow(ctx, `INSERT INTO merchant.assignment_rules (id, owner_unit_id, position, name, districts, area, team_unit_id,
    method, capacity, enabled, updated_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($6), 4326)), $7, $8, $9, $10, $11, $12, $12)
RETURNING `+ruleColumns, newID(), in.OwnerUnitID, in.Position, in.Name, in.Districts, area, in.TeamUnitID, in.Method, in.Capacity,
				in.Enabled, p.User.ID, now)
		} else {
			row = tx.QueryRow(ctx, `UPDATE merchant.assignment_rules SET owner_unit_id = $2, position = $3, name = $4, districts = $5,
    area = ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($6), 4326)), team_unit_id = $7, method = $8, capacity = $9, enabled = $10,
    updated_by = $11, updated_at = $12
WHERE id = $1 RETURNING `+ruleColumns, id, in.OwnerUnitID, in.Position, in.Name, in.Districts, area, in.TeamUnitID, in.Method, in.Capacity,
				in.Enabled, p.User.ID, now)
		}
		r, err := scanRule(row)
		if err != nil {
			return err
		}
		out = r
		return record(ctx, tx, p, "merchant.assignment_rule.save", "merchant.assignment_rule", r.ID, before, r)
	})
	if err != nil {
		return AssignmentRule{}, fmt.Errorf("merchant: save rule: %w", pg.Classify(err))
	}
	return out, nil
}

// validArea refuses a polygon PostGIS cannot read, or an invalid or empty one. It runs
// in a savepoint, so a parse error does not spoil tx.
func validArea(ctx context.Context, tx pgx.Tx, geojson string) error {
	var ok bool
	err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
		return sp.QueryRow(ctx, `SELECT ST_IsValid(g) AND ST_Area(g) > 0 FROM (SELECT ST_GeomFromGeoJSON($1) g) x`, geojson).Scan(&ok)
	})
	if err != nil || !ok {
		return errs.Invalidf("area", "the area is not a valid polygon (GeoJSON, longitude then latitude)")
	}
	return nil
}

// DeleteAssignmentRule removes a rule, audited.
func (s *Service) DeleteAssignmentRule(ctx context.Context, p *identity.Principal, id uuid.UUID) error {
	old, err := s.GetAssignmentRule(ctx, p, id)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx pgx.Tx, _ *merchantdb.Queries) error {
		if _, err := tx.Exec(ctx, `DELETE FROM merchant.assignment_rules WHERE id = $1`, id); err != nil {
			return err
		}
		return record(ctx, tx, p, "merchant.assignment_rule.delete", "merchant.assignment_rule", id, old, nil)
	})
	if err != nil {
		return fmt.Errorf("merchant: delete rule: %w", pg.Classify(err))
	}
	return nil
}

// rulesFor is the ids of the enabled rules that apply to leads of unit, in the order
// they are tried: the nearest unit's first, each unit's by position.
func (s *Service) rulesFor(ctx context.Context, db merchantdb.DBTX, unit uuid.NullUUID) ([]uuid.UUID, error) {
	if !unit.Valid || s.staff == nil {
		return nil, nil
	}
	path, err := s.staff.UnitPath(ctx, unit.UUID)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT r.id FROM merchant.assignment_rules r
WHERE r.enabled AND r.owner_unit_id = ANY($1::uuid[])
ORDER BY array_position($1::uuid[], r.owner_unit_id), r.position, r.created_at, r.id`, path)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// routed is one lead the rules took.
type routed struct {
	lead, rule uuid.UUID
}

// matchRules finds, for each lead of ids, the first of rules whose territory holds it.
func matchRules(ctx context.Context, tx pgx.Tx, ids, rules []uuid.UUID) ([]routed, error) {
	if len(rules) == 0 || len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `
SELECT l.id, m.id FROM unnest($1::uuid[]) WITH ORDINALITY u(id, n)
JOIN merchant.leads l ON l.id = u.id
CROSS JOIN LATERAL (
    SELECT r.id FROM merchant.assignment_rules r
    WHERE r.id = ANY($2::uuid[])
      AND (EXISTS (SELECT 1 FROM unnest(r.districts) d WHERE strpos(l.address, d) > 0)
           OR (r.area IS NOT NULL AND ST_Intersects(r.area, ST_SetSRID(ST_MakePoint(l.lng, l.lat), 4326))))
    ORDER BY array_position($2::uuid[], r.id)
    LIMIT 1) m
ORDER BY u.n`, ids, rules)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (routed, error) {
		var x routed
		return x, r.Scan(&x.lead, &x.rule)
	})
}

// RouteResult is what the rules did with a batch of new leads.
type RouteResult struct {
	Routed   int // leads a rule took to its team
	Assigned int // of them, given to a rep
}

// route applies the assignment rules of unit to new leads (in pools, unheld), in tx:
// set-based, whatever the number of leads. by is who made the leads.
func (s *Service) route(ctx context.Context, tx pgx.Tx, unit uuid.NullUUID, ids []uuid.UUID, by uuid.UUID) (RouteResult, error) {
	var res RouteResult
	rules, err := s.rulesFor(ctx, tx, unit)
	if err != nil || len(rules) == 0 {
		return res, err
	}
	matched, err := matchRules(ctx, tx, ids, rules)
	if err != nil {
		return res, err
	}
	byRule := map[uuid.UUID][]uuid.UUID{}
	for _, m := range matched {
		byRule[m.rule] = append(byRule[m.rule], m.lead)
	}
	q := merchantdb.New(tx)
	for _, ruleID := range rules {
		leads := byRule[ruleID]
		if len(leads) == 0 {
			continue
		}
		n, err := s.routeToTeam(ctx, tx, q, ruleID, leads, by)
		if err != nil {
			return res, err
		}
		res.Routed += len(leads)
		res.Assigned += n
	}
	return res, nil
}

// routeToTeam moves leads into the rule's team pool and gives each to a rep of the team
// with room, by the rule's method. It holds the rule's row and each rep's lock (the
// same lock as claims), so neither the turn nor a cap is overshot by concurrent work.
func (s *Service) routeToTeam(ctx context.Context, tx pgx.Tx, q *merchantdb.Queries, ruleID uuid.UUID, leads []uuid.UUID, by uuid.UUID) (int, error) {
	var name, method string
	var team uuid.UUID
	var capacity int
	var next int64
	if err := tx.QueryRow(ctx, `SELECT name, team_unit_id, method, capacity, rr_next FROM merchant.assignment_rules WHERE id = $1 FOR UPDATE`,
		ruleID).Scan(&name, &team, &method, &capacity, &next); err != nil {
		return 0, err
	}
	pool, err := s.ensurePool(ctx, q, nullUUID(team), uuid.Nil)
	if err != nil {
		return 0, err
	}
	if capacity == 0 || capacity > int(pool.HoldingCap) {
		capacity = int(pool.HoldingCap)
	}
	reps, err := s.staff.TeamReps(ctx, team)
	if err != nil {
		return 0, err
	}
	slices.SortFunc(reps, func(a, b StaffMember) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	repIDs := make([]uuid.UUID, len(reps))
	for i, r := range reps {
		repIDs[i] = r.ID
		if err := q.LockRep(ctx, r.ID); err != nil {
			return 0, err
		}
	}
	held := map[uuid.UUID]int{}
	if len(reps) > 0 {
		rows, err := tx.Query(ctx, `SELECT owner_id, count(*) FROM merchant.leads
WHERE owner_id = ANY($1::uuid[]) AND stage NOT IN ('live', 'lost') GROUP BY owner_id`, repIDs)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
			var id uuid.UUID
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return 0, err
			}
			held[id] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
	}
	owners, turn := pickReps(method, repIDs, held, capacity, len(leads), next)
	now := s.now()
	reason := systemReason(ReasonAssignmentRule, "rule", name)
	if _, err := tx.Exec(ctx, `
UPDATE merchant.leads l SET pool_id = $2, org_unit_id = $3, owner_id = a.owner, claimed_at = CASE WHEN a.owner IS NULL THEN NULL ELSE $4::timestamptz END,
    updated_at = $4
FROM unnest($1::uuid[], $5::uuid[]) a(id, owner)
WHERE l.id = a.id AND l.owner_id IS NULL`, leads, pool.ID, team, now, owners); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `
INSERT INTO merchant.lead_owner_history (id, lead_id, event, from_owner, to_owner, reason, reason_code, reason_params, by_user, at)
SELECT gen_random_uuid(), a.id, 'assigned', NULL, a.owner, $3, $4, $5, $6, $7
FROM unnest($1::uuid[], $2::uuid[]) a(id, owner) WHERE a.owner IS NOT NULL`, leads, owners, reason.Text, string(reason.Code), reason.paramsJSON(), by, now); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE merchant.assignment_rules SET rr_next = $2 WHERE id = $1`, ruleID, turn); err != nil {
		return 0, err
	}
	n := 0
	for _, o := range owners {
		if o != nil {
			n++
		}
	}
	return n, nil
}

// pickReps chooses the owner of each of n leads (nil: none has room): round robin
// from the turn next, skipping reps at capacity, or by load (the fewest open leads
// first, ties in the reps' order). It returns the round robin's next turn.
func pickReps(method string, reps []uuid.UUID, held map[uuid.UUID]int, capacity, n int, next int64) ([]*uuid.UUID, int64) {
	out := make([]*uuid.UUID, n)
	if len(reps) == 0 {
		return out, next
	}
	load := make([]int, len(reps))
	for i, r := range reps {
		load[i] = held[r]
	}
	for k := range out {
		best := -1
		if method == MethodLoad {
			for i := range reps {
				if load[i] < capacity && (best < 0 || load[i] < load[best]) {
					best = i
				}
			}
		} else {
			for j := range reps {
				i := int((next + int64(j)) % int64(len(reps)))
				if load[i] < capacity {
					best = i
					next = int64(i) + 1
					break
				}
			}
		}
		if best < 0 {
			break
		}
		load[best]++
		id := reps[best]
		out[k] = &id
	}
	return out, next % int64(len(reps))
}
