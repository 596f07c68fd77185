package matching

import (
	"github.com/tandemcrm/tandem/shared/identity"
)

// consumerObject names a consumer in matching's errors (matching.consumer_not_found).
const consumerObject = "matching.consumer"

// requireMemberRead checks that p may read members' data here: consumer.member.read at
// scope all, as the C-CRM's member routes require. Consumers belong to no org unit and
// no merchant, so a narrower scope (a custom role at own, team or subtree) reaches none
// of them: what it asked for is not found (404 with notFound's code), the answer the
// member routes give, so such a caller cannot tell which consumers or merchants exist.
func requireMemberRead(p *identity.Principal, notFound string) error {
	return requireMemberScope(p, identity.PermMemberRead, notFound)
}

// requireMemberScope checks that p holds perm at scope all, with requireMemberRead's
// answers: the steps on merges need consumer.member.write so, as the C-CRM's member
// writes do.
func requireMemberScope(p *identity.Principal, perm identity.Permission, notFound string) error {
	return p.RequireAll(perm, notFound)
}
