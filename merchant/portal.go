package merchant

import (
	"context"
	"fmt"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// PortalHome is the merchant portal's home: the shop's status, its contract and its
// staff (for an owner; staff see no staff list).
type PortalHome struct {
	Merchant Merchant        `json:"merchant"`
	Contract Contract        `json:"contract"`
	Staff    []identity.User `json:"staff"`
}

// Portal returns the home of the caller's own merchant (merchant.portal.read); a user
// bound to no live merchant gets merchant.merchant_not_found.
func (s *Service) Portal(ctx context.Context, p *identity.Principal) (PortalHome, error) {
	if err := principal(p); err != nil {
		return PortalHome{}, err
	}
	if _, err := p.Require(identity.PermPortalRead); err != nil {
		return PortalHome{}, err
	}
	if !p.User.MerchantID.Valid {
		return PortalHome{}, errs.NotFound("merchant.merchant")
	}
	m, err := s.GetMerchant(ctx, p, p.User.MerchantID.UUID)
	if err != nil {
		return PortalHome{}, err
	}
	c, err := merchantdb.New(s.db).GetContract(ctx, m.ContractID)
	if err != nil {
		return PortalHome{}, fmt.Errorf("merchant: portal contract: %w", pg.Classify(err))
	}
	out := PortalHome{Merchant: m, Contract: contractOf(c), Staff: []identity.User{}}
	if s.staff != nil && p.Can(identity.PermUserRead) {
		users, err := s.staff.MerchantUsers(ctx, p)
		if err != nil {
			return PortalHome{}, err
		}
		out.Staff = users
	}
	return out, nil
}
