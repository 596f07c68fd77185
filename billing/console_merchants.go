package billing

import (
	"context"
	"maps"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/web"
)

// merchantNames are the names of the merchants a page shows, read from the merchant
// domain (Ports.Names) once per page, or per batch of an export.
type merchantNames map[uuid.UUID]string

// add reads the names of ids not read yet. Without the port, or when the read fails
// (logged), those merchants show by their ids: a page of money is still worth showing.
func (n merchantNames) add(ctx context.Context, s *Service, ids ...uuid.UUID) {
	if s.ports.Names == nil {
		return
	}
	var missing []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, id := range ids {
		if _, ok := n[id]; !ok && !seen[id] {
			seen[id] = true
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return
	}
	found, err := s.ports.Names.MerchantNames(ctx, missing)
	if err != nil {
		s.log.WarnContext(ctx, "billing: merchant names", "err", err)
		return
	}
	maps.Copy(n, found)
}

// name is the merchant's name, or the first block of its id when it has none here.
func (n merchantNames) name(id uuid.UUID) string {
	if s := n[id]; s != "" {
		return s
	}
	return short(id)
}

// merchantColumn is a list's merchant: its name, its id on hover.
func merchantColumn[T any](names merchantNames, id func(T) uuid.UUID) web.Column[T] {
	return web.Column[T]{Header: "billing.merchant", Cell: func(t T) string { return names.name(id(t)) },
		Title: func(t T) string { return id(t).String() }}
}

// merchantIDColumn is an export's merchant id, beside its name: what a spreadsheet
// matches on.
func merchantIDColumn[T any](id func(T) uuid.UUID) web.Column[T] {
	return web.Column[T]{Header: "billing.merchant_id", Cell: func(t T) string { return id(t).String() }}
}

// ids are the merchants of items.
func ids[T any](items []T, id func(T) uuid.UUID) []uuid.UUID {
	out := make([]uuid.UUID, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}
