package consumer

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
	phonenum "github.com/tandemcrm/tandem/shared/phone"
)

// JoinRequest is a consumer joining through an app: the openid in that app and,
// when the channel gives one, a phone.
type JoinRequest struct {
	AppID  string
	OpenID string
	Phone  string
}

// Join makes the consumer the claims name a member, once: joining again returns the
// same member (created=false). The consumer's identifiers live in shared/identity.
func (s *Service) Join(ctx context.Context, in JoinRequest) (m Member, created bool, err error) {
	if strings.TrimSpace(in.OpenID) == "" {
		return Member{}, false, errs.Invalidf("openid", "an openid is required to join")
	}
	if strings.TrimSpace(in.Phone) != "" {
		if in.Phone, err = phonenum.Normalize("phone", in.Phone); err != nil {
			return Member{}, false, err
		}
	}
	id, _, err := s.ids.ResolveConsumer(ctx, identity.ConsumerClaims{AppID: in.AppID, OpenID: in.OpenID, Phone: in.Phone})
	if err != nil {
		return Member{}, false, err
	}
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := consumerdb.New(tx)
		now := s.now()
		row, err := q.InsertMember(ctx, consumerdb.InsertMemberParams{ID: id, Phone: in.Phone, AppID: in.AppID, JoinedAt: now})
		if err != nil {
			return err
		}
		if err := q.InsertBalance(ctx, consumerdb.InsertBalanceParams{ConsumerID: id, UpdatedAt: now}); err != nil {
			return err
		}
		m, created = Member{ID: row.ID, Phone: row.Phone, AppID: row.AppID, JoinedAt: row.JoinedAt}, row.Created
		if !created {
			return nil
		}
		_, err = outbox.Publish(ctx, tx, events.TopicMemberJoined, id.String(),
			events.MemberJoined{ConsumerID: id, AppID: in.AppID, JoinedAt: now})
		return err
	})
	if err != nil {
		return Member{}, false, wrap("join", err)
	}
	bal, err := s.balance(ctx, id)
	m.Points = bal
	return m, created, err
}

func (s *Service) memberRow(ctx context.Context, id uuid.UUID) (consumerdb.GetMemberRow, error) {
	row, err := consumerdb.New(s.db).GetMember(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return row, errs.NotFound(objMember)
	}
	return row, wrap("member", err)
}

func (s *Service) balance(ctx context.Context, id uuid.UUID) (int64, error) {
	row, err := s.memberRow(ctx, id)
	return row.Balance + row.Pending, err
}

// Balance is all of a member's points, spendable and pending (MyPoints splits them),
// for the member themself (consumerID is the authenticated consumer).
func (s *Service) Balance(ctx context.Context, consumerID uuid.UUID) (int64, error) {
	return s.balance(ctx, consumerID)
}

// IsMember reports whether the consumer has joined.
func (s *Service) IsMember(ctx context.Context, consumerID uuid.UUID) (bool, error) {
	_, err := s.balance(ctx, consumerID)
	switch {
	case errs.Is(err, CodeMemberNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// OpenID returns the member's openid in appID ("" when they have none there), for
// JSAPI payments. It fails with consumer.member when the consumer has not joined.
func (s *Service) OpenID(ctx context.Context, consumerID uuid.UUID, appID string) (string, error) {
	if ok, err := s.IsMember(ctx, consumerID); err != nil {
		return "", err
	} else if !ok {
		return "", errs.NotFound(objMember)
	}
	ids, err := s.ids.ConsumerIdentities(ctx, consumerID)
	if err != nil {
		return "", err
	}
	for _, id := range ids {
		if id.Kind == "openid" && id.AppID == appID {
			return id.Value, nil
		}
	}
	return "", nil
}

// memberScope is the staff side of access: members carry no owner, unit or merchant,
// so only an all-rows scope of the permission reaches them.
func memberScope(p *identity.Principal, perm identity.Permission) (*identity.Principal, error) {
	if err := p.RequireAll(perm, objMember); err != nil {
		return nil, err
	}
	return p, nil
}

// GetMember is a member as the staff caller in ctx may see them (consumer.member.read
// at scope all; phone masked without identity.pii.read).
func (s *Service) GetMember(ctx context.Context, caller *identity.Principal, id uuid.UUID) (Member, error) {
	p, err := memberScope(caller, identity.PermMemberRead)
	if err != nil {
		return Member{}, err
	}
	row, err := consumerdb.New(s.db).GetMember(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Member{}, errs.NotFound(objMember)
	} else if err != nil {
		return Member{}, wrap("get member", err)
	}
	return Member{ID: row.ID, Phone: p.Phone(row.Phone), Name: row.Name, AppID: row.AppID, JoinedAt: row.JoinedAt, Points: row.Balance + row.Pending,
		Spendable: row.Balance, Pending: row.Pending, EarnedTotal: row.EarnedTotal}, nil
}

// ListMembers pages through the members for the staff caller in ctx, oldest first.
func (s *Service) ListMembers(ctx context.Context, caller *identity.Principal, after uuid.UUID, limit int) ([]Member, error) {
	p, err := memberScope(caller, identity.PermMemberRead)
	if err != nil {
		return nil, err
	}
	rows, err := consumerdb.New(s.db).ListMembers(ctx, consumerdb.ListMembersParams{After: after, Lim: pg.PageLimit(limit)})
	if err != nil {
		return nil, wrap("list members", err)
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = Member{ID: r.ID, Phone: p.Phone(r.Phone), Name: r.Name, AppID: r.AppID, JoinedAt: r.JoinedAt, Points: r.Balance + r.Pending,
			Spendable: r.Balance, Pending: r.Pending, EarnedTotal: r.EarnedTotal}
	}
	return out, nil
}

// JoinSignedIn makes a signed-in consumer a member with their phone: the openid is the
// one they signed in with (of appID, or of their only app when appID is empty).
func (s *Service) JoinSignedIn(ctx context.Context, consumerID uuid.UUID, appID, phone string) (Member, bool, error) {
	phone, err := phonenum.Normalize("phone", phone)
	if err != nil {
		return Member{}, false, err
	}
	ids, err := s.ids.ConsumerIdentities(ctx, consumerID)
	if err != nil {
		return Member{}, false, err
	}
	var openids []identity.ConsumerIdentity
	for _, id := range ids {
		if id.Kind == "openid" && (appID == "" || id.AppID == appID) {
			openids = append(openids, id)
		}
	}
	switch {
	case len(openids) == 0:
		return Member{}, false, errs.Invalidf("app_id", "you have not signed in with that mini-program")
	case len(openids) > 1:
		return Member{}, false, errs.Invalidf("app_id", "you signed in with several mini-programs: name the app_id to join with")
	}
	return s.Join(ctx, JoinRequest{AppID: openids[0].AppID, OpenID: openids[0].Value, Phone: phone})
}
