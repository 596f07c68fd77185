package identity

import (
	"context"
	"crypto/sha256"
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

// TokenPrefix starts every API token, so a leaked one is recognisable in a scan.
const TokenPrefix = "tdm_"

// Token is an API token as listed; the secret is shown only once, by CreateToken.
type Token struct {
	ID         uuid.UUID  `json:"id"`
	UserID     uuid.UUID  `json:"user_id"`
	OwnerLogin string     `json:"owner_login"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"` // the first characters, to tell tokens apart
	ExpiresAt  time.Time  `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Errors of API tokens.
var (
	ErrTokenMalformed = errs.E(errs.KindUnauthorized, "identity.token_malformed", "the bearer token is malformed")
	ErrTokenInvalid   = errs.E(errs.KindUnauthorized, "identity.token_invalid", "the bearer token is unknown")
	ErrTokenRevoked   = errs.E(errs.KindUnauthorized, "identity.token_revoked", "the bearer token was revoked")
	ErrTokenExpired   = errs.E(errs.KindUnauthorized, "identity.token_expired", "the bearer token has expired")
)

// NewToken is what CreateToken takes; TTL zero is the configured default.
type NewToken struct {
	Name string
	TTL  time.Duration
}

// CreateToken issues a token acting as the principal, with the principal's own
// permissions as they are at each use. It returns the secret, which is never shown again.
func (s *Service) CreateToken(ctx context.Context, p *Principal, in NewToken) (Token, string, error) {
	if _, err := p.Require(PermTokenCreate); err != nil {
		return Token{}, "", err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || len([]rune(name)) > 100 {
		return Token{}, "", errs.Invalidf("name", "a token needs a name of 1 to 100 characters")
	}
	ttl := in.TTL
	if ttl == 0 {
		ttl = s.cfg.TokenTTL
	}
	if ttl < time.Hour || ttl > 366*24*time.Hour {
		return Token{}, "", errs.Invalidf("ttl_days", "a token lives from one hour to one year")
	}
	secret := TokenPrefix + randomSecret(32)
	now := s.now()
	t := Token{ID: newID(), UserID: p.User.ID, OwnerLogin: p.User.Login, Name: name, Prefix: secret[:len(TokenPrefix)+6],
		ExpiresAt: now.Add(ttl), CreatedAt: now}
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		if err := identitydb.New(tx).InsertToken(ctx, identitydb.InsertTokenParams{ID: t.ID, UserID: t.UserID, Name: t.Name,
			Prefix: t.Prefix, TokenHash: digest(secret), ExpiresAt: t.ExpiresAt}); err != nil {
			return err
		}
		return record(ctx, tx, p, "identity.token.create", "identity.token", t.ID.String(), nil, t)
	})
	if err != nil {
		return Token{}, "", fmt.Errorf("identity: create token: %w", pg.Classify(err))
	}
	return t, secret, nil
}

// tokenScope: everyone sees their own tokens; PermTokenManage reaches others' in scope.
func tokenScope(p *Principal) Scope {
	if p.Can(PermTokenManage) {
		return p.Scope(PermTokenManage)
	}
	return p.scopeAt(LevelOwn)
}

// ListTokens lists the tokens the principal may see, newest first.
func (s *Service) ListTokens(ctx context.Context, p *Principal, before uuid.UUID, limit int) ([]Token, uuid.UUID, error) {
	sc := tokenScope(p)
	limit = int(pg.PageLimit(limit))
	rows, err := identitydb.New(s.db).ListTokens(ctx, identitydb.ListTokensParams{
		ScopeAll: sc.SeesAll(), ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs(), ScopeMerchantIds: sc.MerchantIDs(),
		BeforeID: uuid.NullUUID{UUID: before, Valid: before != uuid.Nil}, MaxRows: int32(limit + 1)})
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("identity: list tokens: %w", pg.Classify(err))
	}
	rows, next := pg.TrimPage(rows, limit, func(r identitydb.ListTokensRow) uuid.UUID { return r.ID })
	out := make([]Token, len(rows))
	for i, r := range rows {
		out[i] = Token{ID: r.ID, UserID: r.UserID, OwnerLogin: r.OwnerLogin, Name: r.Name, Prefix: r.Prefix,
			ExpiresAt: r.ExpiresAt.UTC(), RevokedAt: r.RevokedAt, LastUsedAt: r.LastUsedAt, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, next, nil
}

// RevokeToken revokes a token the principal may see (their own, or in scope of
// PermTokenManage); any other id is "not found".
func (s *Service) RevokeToken(ctx context.Context, p *Principal, id uuid.UUID) error {
	if !p.Can(PermTokenCreate) && !p.Can(PermTokenManage) {
		return errs.E(errs.KindForbidden, "identity.forbidden", "you do not have the permission "+string(PermTokenCreate))
	}
	err := s.changeTx(ctx, func(tx pgx.Tx) error {
		q := identitydb.New(tx)
		t, err := q.GetTokenWithOwner(ctx, id)
		if err != nil {
			return notFound(err, "identity.token")
		}
		if !tokenScope(p).Allows(Row{Owner: t.UserID, OrgUnit: t.OwnerOrgUnitID.UUID, Merchant: t.OwnerMerchantID.UUID}) {
			return errs.NotFound("identity.token")
		}
		if t.RevokedAt != nil {
			return nil // revoking twice is the same as once
		}
		if err := q.RevokeToken(ctx, identitydb.RevokeTokenParams{ID: id, RevokedBy: uuid.NullUUID{UUID: p.User.ID, Valid: true}}); err != nil {
			return err
		}
		return record(ctx, tx, p, "identity.token.revoke", "identity.token", id.String(), map[string]any{"name": t.Name, "owner": t.OwnerLogin}, nil)
	})
	return err
}

// AuthenticateToken resolves a bearer token to its owner's principal, and counts the
// request against the token's rate (429 with Retry-After past it). A token seen before
// is served from the token cache with no round trip; see tokenCache for why that never
// outlives a revocation or a change of roles, and rateCounter for the rate.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (*Principal, error) {
	if !wellFormedToken(secret, TokenPrefix) {
		return nil, ErrTokenMalformed
	}
	key := sha256.Sum256([]byte(secret))
	now := s.now()
	gen := s.tokens.gen.current() // before any load: see tokenCache
	cached, hit := s.tokens.get(key)
	if hit && s.tokens.fresh(cached, gen, now) {
		if err := s.takeTokenRate(cached.tokenID, now); err != nil {
			return nil, err
		}
		s.touch(ctx, key, cached.tokenID, cached.lastUsed, now)
		return cached.p, nil
	}
	if hit { // stale: the token itself may have been revoked (401 before 429)
		s.tokens.drop(key)
	}
	row, err := s.lookupToken(ctx, key[:], now)
	if err != nil {
		return nil, err
	}
	if err := s.takeTokenRate(row.ID, now); err != nil {
		return nil, err
	}
	p, err := s.principal(ctx, identitydb.New(s.db), row.UserID)
	if err != nil {
		return nil, err
	}
	if p.User.Disabled {
		return nil, ErrTokenRevoked
	}
	p.TokenID = row.ID
	lastUsed := time.Time{}
	if row.LastUsedAt != nil {
		lastUsed = *row.LastUsedAt
	}
	if gen != 0 {
		s.tokens.put(key, cachedToken{tokenID: row.ID, expiresAt: row.ExpiresAt, lastUsed: lastUsed, gen: gen, loaded: now, p: p})
	}
	s.touch(ctx, key, row.ID, lastUsed, now)
	return p, nil
}

// takeTokenRate counts a request of the token against its rate.
func (s *Service) takeTokenRate(tokenID uuid.UUID, now time.Time) error {
	ok, wait := s.rates.take("token:"+tokenID.String(), s.cfg.TokenRate, now)
	if ok {
		return nil
	}
	e := errs.E(errs.KindTooMany, "identity.token_rate_limited", fmt.Sprintf("this token may make %d requests a minute", s.cfg.TokenRate))
	e.RetryAfter = retryAfter(wait)
	return e
}

// lookupToken reads a token by its digest and refuses it when unknown, revoked or expired.
func (s *Service) lookupToken(ctx context.Context, digest []byte, now time.Time) (identitydb.IdentityApiToken, error) {
	t, err := identitydb.New(s.db).GetTokenByHash(ctx, digest)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, ErrTokenInvalid
	}
	if err != nil {
		return t, fmt.Errorf("identity: token: %w", pg.Classify(err))
	}
	switch {
	case t.RevokedAt != nil:
		return t, ErrTokenRevoked
	case !t.ExpiresAt.After(now):
		return t, ErrTokenExpired
	}
	return t, nil
}

// touchEvery is how often a token's last_used_at is written at most.
const touchEvery = time.Minute

// touch records last_used_at, at most once a minute per token and process: of the
// requests that find it due together, one writes (tokenCache.claimTouch).
func (s *Service) touch(ctx context.Context, key [32]byte, id uuid.UUID, last, now time.Time) {
	if !last.IsZero() && now.Sub(last) <= touchEvery || !s.tokens.claimTouch(key, now) {
		return
	}
	if err := identitydb.New(s.db).TouchToken(ctx, identitydb.TouchTokenParams{ID: id, LastUsedAt: &now}); err != nil {
		s.logger().ErrorContext(ctx, "identity: touch token", "err", err)
		s.tokens.untouch(key, now, last)
	}
}

// wellFormedToken says whether s is prefix and 32 random bytes in base64url.
func wellFormedToken(s, prefix string) bool {
	body, ok := strings.CutPrefix(s, prefix)
	if !ok || len(body) != 43 {
		return false
	}
	for _, r := range body {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
