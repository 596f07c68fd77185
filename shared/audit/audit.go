// Package audit is Tandem's append-only audit log: who (actor) did what (action) to
// which object, the object before and after as JSON, the request it came from, the
// client's address and the time. Entries are written in the caller's transaction
// (Record), so an entry exists if and only if the change it describes committed; the
// table refuses UPDATE, DELETE and TRUNCATE (a trigger, for every role), so nothing
// written can be changed. Readers list entries through a data scope (Log.List).
package audit

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/audit/internal/auditdb"
	"github.com/tandemcrm/tandem/shared/logging"
	"github.com/tandemcrm/tandem/shared/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the audit schema's migration set; it comes right after platform.
var Migrations = pg.EmbeddedMigrations("audit", migrationFiles, "migrations")

// Actor is who acted; the zero Actor is the system (or an unknown login).
type Actor struct {
	ID         uuid.UUID
	Login      string
	OrgUnitID  uuid.UUID // uuid.Nil when none
	MerchantID uuid.UUID // uuid.Nil when none
}

// Event is what a caller records.
type Event struct {
	Actor      Actor
	Action     string // dotted, "identity.user.create", "auth.login_failed"
	ObjectType string // "identity.user"
	ObjectID   string
	Before     any // marshalled to JSON; nil for none
	After      any
}

// Entry is a recorded event as read back.
type Entry struct {
	ID         uuid.UUID       `json:"id"`
	At         time.Time       `json:"at"`
	ActorID    *uuid.UUID      `json:"actor_id"`
	ActorLogin string          `json:"actor_login"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
	RequestID  string          `json:"request_id"`
	IP         string          `json:"ip"`
}

type clientIPKey struct{}

// WithClientIP returns ctx carrying the client's address, which Record stores.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

func clientIP(ctx context.Context) string {
	s, _ := ctx.Value(clientIPKey{}).(string)
	return s
}

// Record writes ev in tx, with the request id and client address found in ctx.
func Record(ctx context.Context, tx pgx.Tx, ev Event) error {
	if ev.Action == "" {
		return fmt.Errorf("audit: an event needs an action")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	before, err := marshal(ev.Before)
	if err != nil {
		return fmt.Errorf("audit: before of %s: %w", ev.Action, err)
	}
	after, err := marshal(ev.After)
	if err != nil {
		return fmt.Errorf("audit: after of %s: %w", ev.Action, err)
	}
	err = auditdb.New(tx).InsertEntry(ctx, auditdb.InsertEntryParams{
		ID: id, At: time.Now().UTC(), ActorID: nullable(ev.Actor.ID), ActorLogin: ev.Actor.Login,
		ActorOrgUnitID: nullable(ev.Actor.OrgUnitID), ActorMerchantID: nullable(ev.Actor.MerchantID),
		Action: ev.Action, ObjectType: ev.ObjectType, ObjectID: ev.ObjectID, Before: before, After: after,
		RequestID: logging.RequestID(ctx), Ip: clientIP(ctx),
	})
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", ev.Action, err)
	}
	return nil
}

func marshal(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	return json.Marshal(v)
}

func nullable(id uuid.UUID) uuid.NullUUID { return uuid.NullUUID{UUID: id, Valid: id != uuid.Nil} }

// Scope is the data scope a reader sees entries through: entries whose actor is one of
// OwnerIDs, or belonged to one of OrgUnitIDs or MerchantIDs, or all of them.
// identity.Scope implements it.
type Scope interface {
	SeesAll() bool
	OwnerIDs() []uuid.UUID
	OrgUnitIDs() []uuid.UUID
	MerchantIDs() []uuid.UUID
}

// Filter narrows a listing; zero fields do not filter.
type Filter struct {
	Actor      string    // a login or an actor id
	Action     string    // a prefix: "identity.user" matches every identity.user.* action
	ObjectType string    // exact
	ObjectID   string    // exact
	Since      time.Time // inclusive
	Until      time.Time // exclusive
	Before     uuid.UUID // cursor: entries older than this one
	Limit      int       // default 50, at most 500
}

// Log reads the audit log.
type Log struct{ db *pgxpool.Pool }

// NewLog returns a reader on db.
func NewLog(db *pgxpool.Pool) *Log { return &Log{db: db} }

// List returns one page of entries, newest first, and the cursor of the next page
// (uuid.Nil at the end).
func (l *Log) List(ctx context.Context, s Scope, f Filter) ([]Entry, uuid.UUID, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	rows, err := auditdb.New(l.db).ListEntries(ctx, auditdb.ListEntriesParams{
		ScopeAll: s.SeesAll(), ScopeOwnerIds: s.OwnerIDs(), ScopeOrgUnitIds: s.OrgUnitIDs(), ScopeMerchantIds: s.MerchantIDs(),
		BeforeID: nullable(f.Before), Actor: opt(f.Actor), Action: opt(f.Action), ObjectType: opt(f.ObjectType),
		ObjectID: opt(f.ObjectID), Since: optTime(f.Since), Until: optTime(f.Until), MaxRows: int32(limit + 1),
	})
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("audit: list: %w", pg.Classify(err))
	}
	rows, next := pg.TrimPage(rows, limit, func(r auditdb.AuditEntry) uuid.UUID { return r.ID })
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = Entry{ID: r.ID, At: r.At.UTC(), ActorLogin: r.ActorLogin, Action: r.Action, ObjectType: r.ObjectType,
			ObjectID: r.ObjectID, Before: r.Before, After: r.After, RequestID: r.RequestID, IP: r.Ip}
		if r.ActorID.Valid {
			id := r.ActorID.UUID
			out[i].ActorID = &id
		}
	}
	return out, next, nil
}

// Each calls fn for every entry the filter matches, newest first, a page at a time:
// the way to export without holding the whole log in memory.
func (l *Log) Each(ctx context.Context, s Scope, f Filter, fn func(Entry) error) error {
	f.Limit = 500
	for {
		page, next, err := l.List(ctx, s, f)
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if next == uuid.Nil {
			return nil
		}
		f.Before = next
	}
}

// DayCount is the number of entries on one day (Asia/Shanghai), "2006-01-02".
type DayCount struct {
	Day   string `json:"day"`
	Count int64  `json:"count"`
}

// CountByDay counts the entries of one action per day since a time, within the scope.
func (l *Log) CountByDay(ctx context.Context, s Scope, action string, since time.Time) ([]DayCount, error) {
	rows, err := auditdb.New(l.db).CountByDay(ctx, auditdb.CountByDayParams{Action: action, Since: since,
		ScopeAll: s.SeesAll(), ScopeOwnerIds: s.OwnerIDs(), ScopeOrgUnitIds: s.OrgUnitIDs(), ScopeMerchantIds: s.MerchantIDs()})
	if err != nil {
		return nil, fmt.Errorf("audit: count: %w", pg.Classify(err))
	}
	out := make([]DayCount, len(rows))
	for i, r := range rows {
		out[i] = DayCount{Day: r.Day, Count: r.N}
	}
	return out, nil
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
