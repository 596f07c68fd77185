package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity/internal/identitydb"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/phone"
)

// ConsumerClaims are what a channel says about a consumer: a WeChat mini-program gives
// its app id and the openid in that app, often the unionid (the same across the
// platform's apps), sometimes a verified phone.
type ConsumerClaims struct {
	AppID   string
	OpenID  string
	UnionID string
	Phone   string
}

// ConsumerIdentity is one identifier of a consumer.
type ConsumerIdentity struct {
	Kind  string `json:"kind"` // openid, unionid, phone
	AppID string `json:"app_id,omitempty"`
	Value string `json:"value"`
}

// ResolveConsumer finds the consumer the claims name, or creates one, and links every
// claimed identifier not yet known to it. The openid (per app) wins over the unionid,
// which wins over the phone; identifiers already bound to another consumer are left
// there (merging two consumers is the matching domain's, with history). It returns the
// consumer's id and whether it is new.
func (s *Service) ResolveConsumer(ctx context.Context, c ConsumerClaims) (uuid.UUID, bool, error) {
	c = ConsumerClaims{AppID: strings.TrimSpace(c.AppID), OpenID: strings.TrimSpace(c.OpenID),
		UnionID: strings.TrimSpace(c.UnionID), Phone: strings.TrimSpace(c.Phone)}
	if c.Phone != "" {
		var err error
		if c.Phone, err = phone.Normalize("phone", c.Phone); err != nil {
			return uuid.Nil, false, err
		}
	}
	if (c.OpenID == "") != (c.AppID == "") {
		return uuid.Nil, false, errs.Invalidf("app_id", "an openid comes with the app id it belongs to")
	}
	if c.OpenID == "" && c.UnionID == "" && c.Phone == "" {
		return uuid.Nil, false, errs.Invalidf("openid", "give an openid, a unionid or a phone")
	}
	claimed := []ConsumerIdentity{{"openid", c.AppID, c.OpenID}, {"unionid", "", c.UnionID}, {"phone", "", c.Phone}}
	var consumer uuid.UUID
	var created bool
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := identitydb.New(tx)
		consumer, created = uuid.Nil, false
		known, err := q.FindConsumerIdentities(ctx, identitydb.FindConsumerIdentitiesParams{AppID: c.AppID, Openid: c.OpenID, Unionid: c.UnionID, Phone: c.Phone})
		if err != nil {
			return err
		}
		for _, kind := range []string{"openid", "unionid", "phone"} {
			for _, k := range known {
				if k.Kind == kind && consumer == uuid.Nil {
					consumer = k.ConsumerID
				}
			}
		}
		if consumer == uuid.Nil {
			consumer, created = newID(), true
		}
		for _, id := range claimed {
			if id.Value == "" {
				continue
			}
			// A concurrent resolver may bind the same identifier first: the unique key
			// keeps one binding, and the retry below finds it.
			n, err := q.InsertConsumerIdentity(ctx, identitydb.InsertConsumerIdentityParams{ID: newID(), ConsumerID: consumer, Kind: id.Kind, AppID: id.AppID, Value: id.Value})
			if err != nil {
				return err
			}
			if n == 0 && created {
				return errRaced
			}
		}
		return publishSharedIdentifiers(ctx, tx, q, consumer, known)
	})
	if errors.Is(err, errRaced) {
		return s.ResolveConsumer(ctx, c)
	}
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("identity: resolve consumer: %w", pg.Classify(err))
	}
	return consumer, created, nil
}

var errRaced = fmt.Errorf("identity: consumer identity bound concurrently")

// ConsumerIdentities lists the identifiers bound to a consumer.
func (s *Service) ConsumerIdentities(ctx context.Context, consumer uuid.UUID) ([]ConsumerIdentity, error) {
	rows, err := identitydb.New(s.db).ListConsumerIdentities(ctx, consumer)
	if err != nil {
		return nil, fmt.Errorf("identity: consumer identities: %w", pg.Classify(err))
	}
	out := make([]ConsumerIdentity, len(rows))
	for i, r := range rows {
		out[i] = ConsumerIdentity{Kind: r.Kind, AppID: r.AppID, Value: r.Value}
	}
	return out, nil
}
