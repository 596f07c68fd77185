package identity

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity/internal/identitydb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// OrgKind is a level of the org tree.
type OrgKind string

const (
	OrgRoot   OrgKind = "root"
	OrgRegion OrgKind = "region"
	OrgCity   OrgKind = "city"
	OrgTeam   OrgKind = "team"
)

// parentKind is the kind a unit of kind k hangs under.
func (k OrgKind) parentKind() (OrgKind, bool) {
	switch k {
	case OrgRegion:
		return OrgRoot, true
	case OrgCity:
		return OrgRegion, true
	case OrgTeam:
		return OrgCity, true
	}
	return "", false
}

// OrgUnit is a node of the org tree. Depth counts from the root (0).
type OrgUnit struct {
	ID        uuid.UUID     `json:"id"`
	ParentID  uuid.NullUUID `json:"parent_id"`
	Kind      OrgKind       `json:"kind"`
	Name      string        `json:"name"`
	Depth     int           `json:"depth"`
	CreatedAt time.Time     `json:"created_at"`
}

// NewOrgUnit is what CreateOrgUnit takes.
type NewOrgUnit struct {
	ParentID uuid.UUID
	Kind     OrgKind
	Name     string
}

// OrgTree lists the units the principal sees with PermOrgRead (all of them, or their
// own subtree), shallowest first.
func (s *Service) OrgTree(ctx context.Context, p *Principal) ([]OrgUnit, error) {
	sc, err := p.Require(PermOrgRead)
	if err != nil {
		return nil, err
	}
	rows, err := identitydb.New(s.db).ListOrgUnits(ctx, identitydb.ListOrgUnitsParams{ScopeAll: sc.SeesAll(), Ids: sc.OrgUnitIDs()})
	if err != nil {
		return nil, fmt.Errorf("identity: org tree: %w", pg.Classify(err))
	}
	out := make([]OrgUnit, len(rows))
	for i, r := range rows {
		out[i] = OrgUnit{ID: r.ID, ParentID: r.ParentID, Kind: OrgKind(r.Kind), Name: r.Name, Depth: int(r.Level), CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// RootOrgUnit returns the root of the tree (made by Bootstrap).
func (s *Service) RootOrgUnit(ctx context.Context) (OrgUnit, error) {
	r, err := identitydb.New(s.db).RootOrgUnit(ctx)
	if err != nil {
		return OrgUnit{}, notFound(err, "identity.org_unit")
	}
	return OrgUnit{ID: r.ID, Kind: OrgKind(r.Kind), Name: r.Name, CreatedAt: r.CreatedAt.UTC()}, nil
}

// CreateOrgUnit adds a region under the root, a city under a region or a team under a
// city; the parent must be in the principal's scope of PermOrgWrite.
func (s *Service) CreateOrgUnit(ctx context.Context, p *Principal, in NewOrgUnit) (OrgUnit, error) {
	sc, err := p.Require(PermOrgWrite)
	if err != nil {
		return OrgUnit{}, err
	}
	in.Name = strings.TrimSpace(in.Name)
	want, ok := in.Kind.parentKind()
	if !ok {
		return OrgUnit{}, errs.Invalidf("kind", "kind is region, city or team")
	}
	if in.Name == "" || len([]rune(in.Name)) > 100 {
		return OrgUnit{}, errs.Invalidf("name", "a name has 1 to 100 characters")
	}
	if !sc.Allows(Row{OrgUnit: in.ParentID}) {
		return OrgUnit{}, errs.NotFound("identity.org_unit").WithField("parent_id")
	}
	u := OrgUnit{ID: newID(), ParentID: nullUUID(in.ParentID), Kind: in.Kind, Name: in.Name, CreatedAt: s.now()}
	err = s.changeTx(ctx, func(tx pgx.Tx) error {
		q := identitydb.New(tx)
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", orgTreeLock); err != nil {
			return err
		}
		parent, err := q.GetOrgUnit(ctx, in.ParentID)
		if err != nil {
			return notFound(err, "identity.org_unit")
		}
		if OrgKind(parent.Kind) != want {
			return &errs.Error{Kind: errs.KindUnprocessable, Code: "identity.org_kind", Field: "parent_id",
				Message: fmt.Sprintf("a %s belongs under a %s, not a %s", in.Kind, want, parent.Kind)}
		}
		err = q.InsertOrgUnit(ctx, identitydb.InsertOrgUnitParams{ID: u.ID, ParentID: u.ParentID, Kind: string(u.Kind), Name: u.Name})
		if pg.IsUniqueViolation(err, "org_units_sibling_name") {
			return &errs.Error{Kind: errs.KindConflict, Code: "identity.org_name_taken", Field: "name", Message: "the parent already has a unit named " + u.Name, Err: err}
		}
		if err != nil {
			return err
		}
		if err := q.InsertOrgClosure(ctx, identitydb.InsertOrgClosureParams{ID: u.ID, ParentID: u.ParentID}); err != nil {
			return err
		}
		return record(ctx, tx, p, "identity.org.create", "identity.org_unit", u.ID.String(), nil, u)
	})
	if err != nil {
		return OrgUnit{}, fmt.Errorf("identity: create org unit: %w", pg.Classify(err))
	}
	return u, nil
}

// MoveOrgUnit puts a unit (with its whole subtree, and so its people and their rows)
// under another parent of the right kind; both must be in the principal's scope of
// PermOrgWrite.
func (s *Service) MoveOrgUnit(ctx context.Context, p *Principal, id, newParent uuid.UUID) (OrgUnit, error) {
	sc, err := p.Require(PermOrgWrite)
	if err != nil {
		return OrgUnit{}, err
	}
	if !sc.Allows(Row{OrgUnit: id}) {
		return OrgUnit{}, errs.NotFound("identity.org_unit")
	}
	if !sc.Allows(Row{OrgUnit: newParent}) {
		return OrgUnit{}, errs.NotFound("identity.org_unit").WithField("parent_id")
	}
	var out OrgUnit
	err = s.changeTx(ctx, func(tx pgx.Tx) error {
		q := identitydb.New(tx)
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", orgTreeLock); err != nil {
			return err
		}
		unit, err := q.GetOrgUnitForUpdate(ctx, id)
		if err != nil {
			return notFound(err, "identity.org_unit")
		}
		parent, err := q.GetOrgUnit(ctx, newParent)
		if err != nil {
			return notFound(err, "identity.org_unit")
		}
		want, ok := OrgKind(unit.Kind).parentKind()
		if !ok {
			return errs.E(errs.KindUnprocessable, "identity.org_root", "the root does not move")
		}
		if OrgKind(parent.Kind) != want {
			return &errs.Error{Kind: errs.KindUnprocessable, Code: "identity.org_kind", Field: "parent_id",
				Message: fmt.Sprintf("a %s belongs under a %s, not a %s", unit.Kind, want, parent.Kind)}
		}
		inside, err := q.IsDescendant(ctx, identitydb.IsDescendantParams{Ancestor: id, Descendant: newParent})
		if err != nil {
			return err
		}
		if inside {
			return &errs.Error{Kind: errs.KindUnprocessable, Code: "identity.org_cycle", Field: "parent_id", Message: "a unit cannot move under itself"}
		}
		out = OrgUnit{ID: unit.ID, ParentID: nullUUID(newParent), Kind: OrgKind(unit.Kind), Name: unit.Name, CreatedAt: unit.CreatedAt.UTC()}
		if unit.ParentID.UUID == newParent {
			return nil
		}
		if err := q.DetachSubtree(ctx, id); err != nil {
			return err
		}
		if err := q.AttachSubtree(ctx, identitydb.AttachSubtreeParams{ID: id, ParentID: newParent}); err != nil {
			return err
		}
		err = q.SetOrgUnitParent(ctx, identitydb.SetOrgUnitParentParams{ID: id, ParentID: nullUUID(newParent)})
		if pg.IsUniqueViolation(err, "org_units_sibling_name") {
			return &errs.Error{Kind: errs.KindConflict, Code: "identity.org_name_taken", Field: "parent_id", Message: "the new parent already has a unit named " + unit.Name, Err: err}
		}
		if err != nil {
			return err
		}
		return record(ctx, tx, p, "identity.org.move", "identity.org_unit", id.String(),
			map[string]any{"parent_id": unit.ParentID}, map[string]any{"parent_id": newParent})
	})
	if err != nil {
		return OrgUnit{}, fmt.Errorf("identity: move org unit: %w", pg.Classify(err))
	}
	return out, nil
}
