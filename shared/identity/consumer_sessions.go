package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity/internal/identitydb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// ConsumerTokenPrefix starts every consumer's bearer token, as TokenPrefix does staff's.
const ConsumerTokenPrefix = "tdc_"

// ConsumerSession is a signed-in consumer. Token is their bearer token: returned once,
// at sign-in, and only its hash is stored.
type ConsumerSession struct {
	Token      string    `json:"token"`
	ConsumerID uuid.UUID `json:"consumer_id"`
	Created    bool      `json:"created"` // the consumer is new: this sign-in made them
	ExpiresAt  time.Time `json:"expires_at"`
}

// SignInConsumer signs a mini-program user in with the code of their wx.login and
// returns a consumer session. Attempts are limited per client address (429 with
// Retry-After), whether or not they succeed: a code is a one-time guess.
func (s *Service) SignInConsumer(ctx context.Context, code, ip string) (ConsumerSession, error) {
	if s.cfg.Code2Session == nil {
		return ConsumerSession{}, errs.E(errs.KindUnavailable, "identity.consumer_signin_off", "consumer sign-in is not configured")
	}
	n, ttl, err := s.limit.add(ctx, "consumer_signin:ip:"+ip, 1, s.cfg.LoginWindow)
	if err != nil {
		return ConsumerSession{}, errs.Wrap(err, errs.KindUnavailable, "identity.unavailable", "signing in is unavailable; retry")
	}
	if n > s.cfg.ConsumerSignInPerIP {
		e := errs.E(errs.KindTooMany, "identity.consumer_signin_rate_limited", "too many sign-ins; wait and try again")
		e.RetryAfter = retryAfter(ttl)
		return ConsumerSession{}, e
	}
	claims, err := s.cfg.Code2Session(ctx, code)
	if err != nil {
		return ConsumerSession{}, err
	}
	consumer, created, err := s.ResolveConsumer(ctx, claims)
	if err != nil {
		return ConsumerSession{}, err
	}
	now := s.now()
	sess := ConsumerSession{Token: ConsumerTokenPrefix + randomSecret(32), ConsumerID: consumer, Created: created,
		ExpiresAt: now.Add(s.cfg.ConsumerSessionTTL)}
	if err := identitydb.New(s.db).InsertConsumerSession(ctx, identitydb.InsertConsumerSessionParams{ID: newID(),
		TokenHash: digest(sess.Token), ConsumerID: consumer, AppID: claims.AppID, Ip: ip, ExpiresAt: sess.ExpiresAt, Now: now}); err != nil {
		return ConsumerSession{}, fmt.Errorf("identity: consumer session: %w", pg.Classify(err))
	}
	return sess, nil
}

// AuthenticateConsumer resolves a consumer's bearer token to the consumer, and counts
// the request against the token's rate (TokenRate a minute, as for staff tokens).
func (s *Service) AuthenticateConsumer(ctx context.Context, secret string) (uuid.UUID, error) {
	if !wellFormedToken(secret, ConsumerTokenPrefix) {
		return uuid.Nil, ErrTokenMalformed
	}
	row, err := identitydb.New(s.db).GetConsumerSessionByHash(ctx, digest(secret))
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, ErrTokenInvalid
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("identity: consumer session: %w", pg.Classify(err))
	}
	if !row.ExpiresAt.After(s.now()) {
		return uuid.Nil, ErrTokenExpired
	}
	ok, wait := s.rates.take("consumer_session:"+row.ID.String(), s.cfg.TokenRate, s.now())
	if !ok {
		e := errs.E(errs.KindTooMany, "identity.token_rate_limited", fmt.Sprintf("this token may make %d requests a minute", s.cfg.TokenRate))
		e.RetryAfter = retryAfter(wait)
		return uuid.Nil, e
	}
	return row.ConsumerID, nil
}
