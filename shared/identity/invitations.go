package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity/internal/identitydb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// CodeInvitationInvalid: the link is unknown, used or expired (one answer for all
// three, so links cannot be probed).
const CodeInvitationInvalid = "identity.invitation_invalid"

// InvitationTTL is how long an invitation link works unless the caller says.
const InvitationTTL = 72 * time.Hour

// Invitation is a single-use link through which a user sets their own password.
// Token is shown once (to be forwarded); only its hash is stored.
type Invitation struct {
	Login     string    `json:"login"`
	Token     string    `json:"token"`
	Path      string    `json:"path"` // the console's page: /invite/<token>
	ExpiresAt time.Time `json:"expires_at"`
}

func invitationHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Invite makes an invitation for a user in the caller's identity.user.write scope
// (the system, for a new merchant's owner); it replaces the user's open ones.
func (s *Service) Invite(ctx context.Context, p *Principal, userID uuid.UUID, ttl time.Duration) (Invitation, error) {
	sc, err := p.Require(PermUserWrite)
	if err != nil {
		return Invitation{}, err
	}
	if ttl <= 0 {
		ttl = InvitationTTL
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	token := "tdi_" + base64.RawURLEncoding.EncodeToString(b)
	var out Invitation
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := identitydb.New(tx)
		row, err := q.GetUser(ctx, userID)
		if err != nil {
			return notFound(err, "identity.user")
		}
		if !sc.Allows(userOf(row).row()) {
			return errs.NotFound("identity.user")
		}
		now := s.now()
		if err := q.ExpireUserInvitations(ctx, identitydb.ExpireUserInvitationsParams{UserID: userID, ExpiresAt: now}); err != nil {
			return err
		}
		id := uuid.Must(uuid.NewV7())
		if err := q.InsertInvitation(ctx, identitydb.InsertInvitationParams{ID: id, UserID: userID, TokenHash: invitationHash(token),
			CreatedBy: nullUUID(p.User.ID), CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
			return err
		}
		out = Invitation{Login: row.Login, Token: token, Path: "/invite/" + token, ExpiresAt: now.Add(ttl)}
		return record(ctx, tx, p, "identity.user.invite", "identity.user", userID.String(), nil, map[string]any{"invitation": id, "expires_at": out.ExpiresAt})
	})
	if err != nil {
		return Invitation{}, fmt.Errorf("identity: invite: %w", pg.Classify(err))
	}
	return out, nil
}

// InvitationFor returns the login and name an open invitation is for (the page that
// asks for the new password shows them).
func (s *Service) InvitationFor(ctx context.Context, token string) (login, name string, err error) {
	row, err := identitydb.New(s.db).GetInvitation(ctx, invitationHash(strings.TrimSpace(token)))
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (row.UsedAt != nil || !row.ExpiresAt.After(s.now()))) {
		return "", "", errs.E(errs.KindNotFound, CodeInvitationInvalid, "this invitation link is unknown, used or expired: ask for a new one")
	}
	if err != nil {
		return "", "", fmt.Errorf("identity: invitation: %w", pg.Classify(err))
	}
	return row.Login, row.DisplayName, nil
}

// AcceptInvitation sets the invited user's password (identity's rules) and uses the
// link up; a second use, or one after the expiry, is refused and changes nothing.
func (s *Service) AcceptInvitation(ctx context.Context, token, password string) (string, error) {
	token = strings.TrimSpace(token)
	login, _, err := s.InvitationFor(ctx, token)
	if err != nil {
		return "", err
	}
	if err := CheckPassword(password, login); err != nil {
		return "", err
	}
	hash, err := hashPassword(password, s.cfg.Argon2)
	if err != nil {
		return "", err
	}
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := identitydb.New(tx)
		userID, err := q.UseInvitation(ctx, identitydb.UseInvitationParams{TokenHash: invitationHash(token), UsedAt: ptrTime(s.now())})
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.KindNotFound, CodeInvitationInvalid, "this invitation link is unknown, used or expired: ask for a new one")
		}
		if err != nil {
			return err
		}
		if err := q.SetPassword(ctx, identitydb.SetPasswordParams{ID: userID, PasswordHash: hash}); err != nil {
			return err
		}
		if err := q.RevokeUserSessions(ctx, userID); err != nil {
			return err
		}
		p, err := s.principal(ctx, q, userID)
		if err != nil {
			return err
		}
		return record(ctx, tx, p, "identity.user.accept_invitation", "identity.user", userID.String(), nil, nil)
	})
	if err != nil {
		return "", fmt.Errorf("identity: accept invitation: %w", pg.Classify(err))
	}
	return login, nil
}

func ptrTime(t time.Time) *time.Time { return &t }
