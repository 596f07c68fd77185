package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
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

// Session is a signed-in console session. Token is the cookie's value: it is returned
// once, at sign-in, and only its hash is stored.
type Session struct {
	ID        uuid.UUID `json:"id"`
	Token     string    `json:"-"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// LoginAttempt is what a sign-in form or POST /api/v1/sessions sends.
type LoginAttempt struct {
	Login, Password string
	IP, UserAgent   string
}

// Errors of signing in and of sessions.
var (
	ErrBadCredentials = errs.E(errs.KindUnauthorized, "identity.bad_credentials", "wrong login or password")
	ErrSessionExpired = errs.E(errs.KindUnauthorized, "identity.session_expired", "your session has expired; sign in again")
	ErrSessionInvalid = errs.E(errs.KindUnauthorized, "identity.session_invalid", "you are not signed in")
	ErrCSRF           = errs.E(errs.KindForbidden, "identity.csrf_invalid", "the form is stale or was not sent by Tandem; reload the page and try again")
)

// dummyHash is verified against when the login does not exist, so that an unknown
// login takes as long as a wrong password.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$mlAfUBks9JwWOT/VRRfqz3e6/Vpg4n8RHICUsbKlM+g"

// Login checks a login and password and opens a session. Failures are audited and
// counted: five in a row lock the account for LockFor, and Redis limits failures per
// account and per client address within LoginWindow (429 with Retry-After).
func (s *Service) Login(ctx context.Context, a LoginAttempt) (Session, error) {
	login := strings.ToLower(strings.TrimSpace(a.Login))
	if login == "" || a.Password == "" {
		return Session{}, errs.Invalidf("login", "enter your login and password")
	}
	keys := []struct {
		key   string
		limit int
	}{{"login:acct:" + login, s.cfg.LoginPerAccount}, {"login:ip:" + a.IP, s.cfg.LoginPerIP}}
	for _, k := range keys {
		n, ttl, err := s.limit.add(ctx, k.key, 0, s.cfg.LoginWindow)
		if err != nil {
			return Session{}, errs.Wrap(err, errs.KindUnavailable, "identity.unavailable", "signing in is unavailable; retry")
		}
		if n >= k.limit {
			e := errs.E(errs.KindTooMany, "identity.login_rate_limited", "too many failed sign-ins; wait and try again")
			e.RetryAfter = retryAfter(ttl)
			return Session{}, s.denied(ctx, nil, e, "identity.login", login, map[string]string{"ip": a.IP})
		}
	}

	var sess Session
	var refusal error
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		sess, refusal = Session{}, nil
		q := identitydb.New(tx)
		u, err := q.GetUserByLoginForUpdate(ctx, login)
		if errors.Is(err, pgx.ErrNoRows) {
			verifyPassword(a.Password, dummyHash)
			refusal = ErrBadCredentials
			return record(ctx, tx, nil, "auth.login_failed", "identity.login", login, nil, map[string]string{"reason": "unknown login", "ip": a.IP})
		}
		if err != nil {
			return err
		}
		actor := &Principal{User: userOf(u)}
		now := s.now()
		if u.LockedUntil != nil && u.LockedUntil.After(now) {
			refusal = lockedError(u.LockedUntil.Sub(now))
			return record(ctx, tx, actor, "auth.login_refused", "identity.user", u.ID.String(), nil, map[string]string{"reason": "locked", "ip": a.IP})
		}
		if !verifyPassword(a.Password, u.PasswordHash) {
			res, err := q.RecordLoginFailure(ctx, identitydb.RecordLoginFailureParams{
				ID: u.ID, MaxFailures: int32(s.cfg.LoginFailures), LockUntil: now.Add(s.cfg.LockFor)})
			if err != nil {
				return err
			}
			refusal = ErrBadCredentials
			detail := map[string]any{"reason": "wrong password", "ip": a.IP, "failures": res.FailedLogins}
			if res.LockedUntil != nil && res.LockedUntil.After(now) {
				refusal = lockedError(s.cfg.LockFor)
				if err := record(ctx, tx, actor, "auth.account_locked", "identity.user", u.ID.String(), nil,
					map[string]any{"locked_until": res.LockedUntil.UTC()}); err != nil {
					return err
				}
			}
			return record(ctx, tx, actor, "auth.login_failed", "identity.user", u.ID.String(), nil, detail)
		}
		if u.DisabledAt != nil {
			refusal = errs.E(errs.KindForbidden, "identity.account_disabled", "this account is disabled")
			return record(ctx, tx, actor, "auth.login_refused", "identity.user", u.ID.String(), nil, map[string]string{"reason": "disabled", "ip": a.IP})
		}
		if err := q.RecordLoginSuccess(ctx, u.ID); err != nil {
			return err
		}
		token, csrf := randomSecret(32), randomSecret(24)
		sess = Session{ID: newID(), Token: token, CSRFToken: csrf, ExpiresAt: now.Add(s.cfg.SessionTTL), User: userOf(u)}
		if err := q.InsertSession(ctx, identitydb.InsertSessionParams{ID: sess.ID, TokenHash: digest(token), UserID: u.ID,
			CsrfToken: csrf, Ip: a.IP, UserAgent: truncate(a.UserAgent, 300), ExpiresAt: sess.ExpiresAt, Now: now}); err != nil {
			return err
		}
		return record(ctx, tx, actor, "auth.login", "identity.session", sess.ID.String(), nil, map[string]string{"ip": a.IP})
	})
	if err != nil {
		return Session{}, fmt.Errorf("identity: login: %w", err)
	}
	if refusal != nil {
		if errs.Is(refusal, ErrBadCredentials.Code) || errs.Is(refusal, "identity.account_locked") {
			for _, k := range keys {
				if _, _, err := s.limit.add(ctx, k.key, 1, s.cfg.LoginWindow); err != nil {
					return Session{}, errors.Join(refusal, err)
				}
			}
		}
		return Session{}, refusal
	}
	return sess, nil
}

func lockedError(left time.Duration) error {
	mins := int(left.Round(time.Minute) / time.Minute)
	e := errs.E(errs.KindForbidden, "identity.account_locked",
		fmt.Sprintf("this account is locked after too many failed sign-ins; try again in %d minutes", max(mins, 1)))
	e.RetryAfter = retryAfter(left)
	return e
}

// AuthenticateSession resolves a session cookie's value to its principal.
func (s *Service) AuthenticateSession(ctx context.Context, token string) (*Principal, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrSessionInvalid
	}
	q := identitydb.New(s.db)
	row, err := q.GetSessionByHash(ctx, digest(token))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrSessionInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("identity: session: %w", pg.Classify(err))
	}
	now := s.now()
	switch {
	case row.RevokedAt != nil:
		return nil, ErrSessionInvalid
	case !row.ExpiresAt.After(now), row.LastSeenAt.Add(s.cfg.SessionIdle).Before(now):
		return nil, ErrSessionExpired
	}
	p, err := s.principal(ctx, q, row.UserID)
	if err != nil {
		return nil, err
	}
	if p.User.Disabled {
		return nil, ErrSessionInvalid
	}
	if now.Sub(row.LastSeenAt) > time.Minute {
		if err := q.TouchSession(ctx, identitydb.TouchSessionParams{ID: row.ID, LastSeenAt: now}); err != nil {
			return nil, fmt.Errorf("identity: touch session: %w", pg.Classify(err))
		}
	}
	p.SessionID, p.CSRFToken = row.ID, row.CsrfToken
	return p, nil
}

// CheckCSRF compares a submitted CSRF token with the session's, in constant time.
func (p *Principal) CheckCSRF(submitted string) error {
	if p.SessionID == uuid.Nil {
		return nil // bearer tokens are not sent by browsers on their own
	}
	if submitted == "" || subtle.ConstantTimeCompare([]byte(submitted), []byte(p.CSRFToken)) != 1 {
		return ErrCSRF
	}
	return nil
}

// Logout ends the principal's session.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if p.SessionID == uuid.Nil {
		return errs.E(errs.KindInvalid, "identity.not_a_session", "an API token signs out by being revoked")
	}
	return pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		if err := identitydb.New(tx).RevokeSession(ctx, p.SessionID); err != nil {
			return err
		}
		return record(ctx, tx, p, "auth.logout", "identity.session", p.SessionID.String(), nil, nil)
	})
}

func randomSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on Linux (Go 1.24+ panics instead of returning errors)
	return base64.RawURLEncoding.EncodeToString(b)
}

func digest(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
