package approval

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/approval/internal/approvaldb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Box is which requests a list shows.
type Box string

const (
	BoxTodo    Box = "todo"    // pending requests the caller may decide: their to-do list
	BoxDecided Box = "decided" // requests the caller could decide that are decided
	BoxMine    Box = "mine"    // requests the caller asked for
)

// Filter selects a page of a box.
type Filter struct {
	Box   Box
	Kind  string    // optional
	After uuid.UUID // the previous page's NextCursor
	Limit int
}

// Page is a page of requests, newest first.
type Page struct {
	Requests   []Request `json:"requests"`
	NextCursor string    `json:"next_cursor"`
}

// List returns a page of the caller's box. The to-do box is every pending request
// whose approver permission the caller holds with a scope reaching the subject
// (one OR'ed predicate per permission held), less their own requests.
func (s *Service) List(ctx context.Context, p *identity.Principal, f Filter) (Page, error) {
	if p == nil {
		return Page{}, errs.E(errs.KindUnauthorized, "identity.unauthenticated", "sign in first")
	}
	if f.Box == "" {
		f.Box = BoxTodo
	}
	limit := int(pg.PageLimit(f.Limit))
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	switch f.Box {
	case BoxMine:
		where = append(where, "requested_by = "+arg(p.User.ID))
	case BoxTodo, BoxDecided:
		if f.Box == BoxTodo {
			where = append(where, "state = 'pending'", "requested_by <> "+arg(p.User.ID))
		} else {
			where = append(where, "state <> 'pending'")
		}
		var perms []identity.Permission
		for perm := range p.Permissions() {
			perms = append(perms, perm)
		}
		slices.Sort(perms)
		var ors []string
		for _, perm := range perms {
			pred, pargs := p.Scope(perm).Predicate(identity.Columns{Owner: "owner_id", OrgUnit: "org_unit_id", Merchant: "merchant_id"}, len(args)+2)
			if pred == "false" {
				continue
			}
			ors = append(ors, fmt.Sprintf("(approver_perm = %s AND %s)", arg(string(perm)), pred))
			args = append(args, pargs...)
		}
		if len(ors) == 0 {
			return Page{Requests: []Request{}}, nil
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	default:
		return Page{}, errs.Invalidf("box", "box is todo, decided or mine")
	}
	if f.Kind != "" {
		where = append(where, "kind = "+arg(f.Kind))
	}
	if f.After != uuid.Nil {
		where = append(where, "id < "+arg(f.After))
	}
	sql := "SELECT * FROM approval.requests WHERE " + strings.Join(where, " AND ") +
		" ORDER BY id DESC LIMIT " + arg(limit+1)
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return Page{}, fmt.Errorf("approval: list: %w", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[approvaldb.ApprovalRequest])
	if err != nil {
		return Page{}, fmt.Errorf("approval: list: %w", err)
	}
	got, next := pg.TrimPage(got, limit, func(r approvaldb.ApprovalRequest) uuid.UUID { return r.ID })
	out := Page{Requests: make([]Request, len(got))}
	for i, r := range got {
		out.Requests[i] = fromRow(r)
	}
	if next != uuid.Nil {
		out.NextCursor = next.String()
	}
	return out, nil
}

// TodoCount is how many requests wait for the caller: the badge of the menu.
func (s *Service) TodoCount(ctx context.Context, p *identity.Principal) (int, error) {
	page, err := s.List(ctx, p, Filter{Box: BoxTodo, Limit: 100})
	if err != nil {
		return 0, err
	}
	return len(page.Requests), nil
}
