package marketing

import (
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

// Objects marketing's not-found answers name.
const (
	objMember   = "marketing.member"
	objSegment  = "marketing.segment"
	objCampaign = "marketing.campaign"
)

// requireAll checks that p holds perm at scope all. Everything marketing keeps is the
// members' (segments of them, campaigns sent to them, the figures over them, the
// referrals between them), and members belong to no org unit and no merchant, so a
// narrower scope (a custom role at own, team or subtree) reaches none of it: what it
// asked for is not found (404 with notFound's code), the answer of the C-CRM's member
// pages, and the menu does not offer such a caller these pages.
func requireAll(p *identity.Principal, perm identity.Permission, notFound string) error {
	if p == nil {
		return identity.ErrUnauthenticated
	}
	sc, err := p.Require(perm)
	if err != nil {
		return err
	}
	if !sc.SeesAll() {
		return errs.NotFound(notFound)
	}
	return nil
}
