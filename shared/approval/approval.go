// Package approval is Tandem's one approval flow (审批) and the to-do list (待办) it feeds.
//
// A domain asks for a decision about one of its objects inside its own transaction:
//
//	req, err := approvals.Request(ctx, tx, p, approval.NewRequest{
//	    Kind:     "merchant.contract_discount",          // registered with OnDecided
//	    Subject:  approval.Subject{Type: "merchant.contract", ID: id.String()},
//	    Title:    "Contract HT-2026-0042: 3.5 % (floor 5 %)",
//	    Approver: identity.PermContractApprove,           // who may decide ...
//	    Scope:    identity.Row{OrgUnit: lead.OrgUnitID},  // ... within whose data scope
//	    Payload:  map[string]any{"rate": "0.035"},
//	})
//
// The approvers are every user holding the Approver permission (roles grant it) whose
// data scope at that permission reaches Scope — except the requester, who never
// approves their own request. Each of them has the request on their to-do list
// (Todos, the console's /todos page, GET /api/v1/approvals?box=todo) until one of them
// approves or rejects it with a comment (Decide; a rejection needs one). Anyone else
// is refused with 403 approval.not_approver and nothing changes. A decided request is
// final: a second decision is 409 approval.already_decided.
//
// The decision reaches the requesting domain twice, both in the deciding transaction:
// the Handler registered for the kind with OnDecided (so the consequence — the
// contract becoming active — commits with the decision or not at all), and the event
// events.TopicApprovalDecided through the outbox, for other subscribers. Request,
// decision and withdrawal are each audited ("approval.request", "approval.approve",
// "approval.reject", "approval.withdraw").
package approval

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/approval/internal/approvaldb"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the approval schema's migration set; it comes after identity.
var Migrations = pg.EmbeddedMigrations("approval", migrationFiles, "migrations")

// Error codes.
const (
	CodeNotFound        = "approval.request_not_found"
	CodeNotApprover     = "approval.not_approver"
	CodeOwnRequest      = "approval.own_request"
	CodeAlreadyDecided  = "approval.already_decided"
	CodeAlreadyPending  = "approval.already_pending"
	CodeCommentRequired = "approval.comment_required"
	CodeInvalid         = "approval.invalid"
)

// State is where a request is.
type State string

const (
	StatePending   State = "pending"
	StateApproved  State = "approved"
	StateRejected  State = "rejected"
	StateWithdrawn State = "withdrawn"
)

// Subject is the object a request is about, in the requesting domain's terms.
type Subject struct {
	Type string `json:"type"` // "merchant.contract"
	ID   string `json:"id"`
}

// NewRequest is what a domain asks for.
type NewRequest struct {
	Kind     string // "<domain>.<what>", registered with OnDecided
	Subject  Subject
	Title    string // one line for the to-do list, in the requester's words
	Summary  string // optional detail
	Approver identity.Permission
	Scope    identity.Row // the subject's owner / org unit / merchant: approvers' scope must reach it
	Payload  any          // marshalled to JSON; given back to the handler
}

// Request is a request as read back.
type Request struct {
	ID               uuid.UUID           `json:"id"`
	Kind             string              `json:"kind"`
	Subject          Subject             `json:"subject"`
	Title            string              `json:"title"`
	Summary          string              `json:"summary"`
	Payload          json.RawMessage     `json:"payload"`
	Approver         identity.Permission `json:"approver_permission"`
	RequestedBy      uuid.UUID           `json:"requested_by"`
	RequestedByLogin string              `json:"requested_by_login"`
	RequestedAt      time.Time           `json:"requested_at"`
	State            State               `json:"state"`
	DecidedByLogin   string              `json:"decided_by_login,omitempty"`
	DecidedAt        *time.Time          `json:"decided_at,omitempty"`
	Comment          string              `json:"comment,omitempty"`
	scope            identity.Row
	decidedBy        uuid.UUID
}

// Handler is told of a decision (approved or rejected) in the deciding transaction;
// an error rolls the decision back.
type Handler func(ctx context.Context, tx pgx.Tx, r Request) error

// Service keeps the requests. Build it once (New) and register every kind's handler
// before serving.
type Service struct {
	db       *pgxpool.Pool
	log      *slog.Logger
	clock    clock.Clock
	mu       sync.RWMutex
	handlers map[string]Handler
}

// New returns the service (the one constructor shape of shared/domain).
func New(deps domain.Deps) *Service {
	deps = deps.WithDefaults()
	return &Service{db: deps.DB, log: deps.Log, clock: deps.Clock, handlers: map[string]Handler{}}
}

// Name is the package's name as a domain.
func (s *Service) Name() string { return "approval" }

// OnDecided registers the handler of a kind; a kind without one cannot be requested.
func (s *Service) OnDecided(kind string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[kind] = h
}

func (s *Service) handler(kind string) (Handler, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, ok := s.handlers[kind]
	return h, ok
}

func (s *Service) now() time.Time { return s.clock.Now().UTC() }

func nullable(id uuid.UUID) uuid.NullUUID { return uuid.NullUUID{UUID: id, Valid: id != uuid.Nil} }

func fromRow(r approvaldb.ApprovalRequest) Request {
	return Request{ID: r.ID, Kind: r.Kind, Subject: Subject{Type: r.SubjectType, ID: r.SubjectID}, Title: r.Title,
		Summary: r.Summary, Payload: r.Payload, Approver: identity.Permission(r.ApproverPerm), RequestedBy: r.RequestedBy,
		RequestedByLogin: r.RequestedByLogin, RequestedAt: r.RequestedAt, State: State(r.State),
		DecidedByLogin: r.DecidedByLogin, DecidedAt: r.DecidedAt, Comment: r.Comment,
		scope:     identity.Row{Owner: r.OwnerID.UUID, OrgUnit: r.OrgUnitID.UUID, Merchant: r.MerchantID.UUID},
		decidedBy: r.DecidedBy.UUID}
}

// Request records a pending request in tx (the caller's, so the request exists if
// and only if the change asking for it commits). A second pending request of the same
// kind for the same subject is 409 approval.already_pending.
func (s *Service) Request(ctx context.Context, tx pgx.Tx, p *identity.Principal, in NewRequest) (Request, error) {
	if p == nil {
		return Request{}, errs.E(errs.KindUnauthorized, "identity.unauthenticated", "sign in first")
	}
	if _, ok := s.handler(in.Kind); !ok {
		return Request{}, fmt.Errorf("approval: kind %q has no handler (OnDecided)", in.Kind)
	}
	if !in.Approver.Known() {
		return Request{}, fmt.Errorf("approval: %s: approver permission %q is not in the catalogue", in.Kind, in.Approver)
	}
	in.Title = strings.TrimSpace(in.Title)
	if in.Subject.Type == "" || in.Subject.ID == "" || in.Title == "" {
		return Request{}, fmt.Errorf("approval: %s: a request needs a subject and a title", in.Kind)
	}
	payload := []byte("{}")
	if in.Payload != nil {
		b, err := json.Marshal(in.Payload)
		if err != nil {
			return Request{}, fmt.Errorf("approval: payload of %s: %w", in.Kind, err)
		}
		payload = b
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Request{}, fmt.Errorf("approval: %w", err)
	}
	row, err := approvaldb.New(tx).InsertRequest(ctx, approvaldb.InsertRequestParams{
		ID: id, Kind: in.Kind, SubjectType: in.Subject.Type, SubjectID: in.Subject.ID, Title: in.Title,
		Summary: in.Summary, Payload: payload, ApproverPerm: string(in.Approver),
		OwnerID: nullable(in.Scope.Owner), OrgUnitID: nullable(in.Scope.OrgUnit), MerchantID: nullable(in.Scope.Merchant),
		RequestedBy: p.User.ID, RequestedByLogin: p.User.Login, RequestedAt: s.now(),
	})
	if pg.IsUniqueViolation(err, "requests_one_pending") {
		return Request{}, errs.E(errs.KindConflict, CodeAlreadyPending, "this already waits for an approval")
	}
	if err != nil {
		return Request{}, fmt.Errorf("approval: insert %s: %w", in.Kind, err)
	}
	r := fromRow(row)
	if err := audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "approval.request", ObjectType: "approval.request",
		ObjectID: r.ID.String(), After: r}); err != nil {
		return Request{}, err
	}
	return r, nil
}

// IsApprover reports whether p may decide r: p holds r's approver permission with a
// scope reaching r's subject, and did not ask for it.
func (r Request) IsApprover(p *identity.Principal) bool {
	return p != nil && p.User.ID != r.RequestedBy && p.Can(r.Approver) && p.Scope(r.Approver).Allows(r.scope)
}

// visible reports whether p may read r: its requester, or one of its approvers (a
// decided request stays visible to whoever could have decided it).
func (r Request) visible(p *identity.Principal) bool {
	if p == nil {
		return false
	}
	return p.User.ID == r.RequestedBy || p.User.ID == r.decidedBy || (p.Can(r.Approver) && p.Scope(r.Approver).Allows(r.scope))
}

// Get returns one request its requester or an approver may read; others get 404.
func (s *Service) Get(ctx context.Context, p *identity.Principal, id uuid.UUID) (Request, error) {
	row, err := approvaldb.New(s.db).GetRequest(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Request{}, errs.NotFound("approval.request")
	}
	if err != nil {
		return Request{}, fmt.Errorf("approval: get: %w", err)
	}
	r := fromRow(row)
	if !r.visible(p) {
		return Request{}, errs.NotFound("approval.request")
	}
	return r, nil
}

// ForSubject returns the requests about one subject, newest first: for the subject's
// own page, which the requesting domain shows only to those who may see the subject.
func (s *Service) ForSubject(ctx context.Context, sub Subject) ([]Request, error) {
	rows, err := approvaldb.New(s.db).RequestsForSubject(ctx, approvaldb.RequestsForSubjectParams{SubjectType: sub.Type, SubjectID: sub.ID})
	if err != nil {
		return nil, fmt.Errorf("approval: requests of %s %s: %w", sub.Type, sub.ID, err)
	}
	out := make([]Request, len(rows))
	for i, r := range rows {
		out[i] = fromRow(r)
	}
	return out, nil
}
