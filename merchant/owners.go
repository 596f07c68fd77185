package merchant

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

// IdentityOwners satisfies OwnerAccounts with shared/identity: the owner becomes a
// merchant-kind user holding the merchant_owner role, bound to the merchant (so every
// scope of theirs is that merchant). Actor is who creates the login: a principal
// holding identity.user.write at scope all (the system administrator).
type IdentityOwners struct {
	Users *identity.Service
	Actor func(ctx context.Context) (*identity.Principal, error)
}

// OwnerLogin is the login of a merchant's owner: stable, so a retry finds it.
func OwnerLogin(merchantID uuid.UUID) string {
	return "owner-" + strings.ReplaceAll(merchantID.String(), "-", "")
}

// CreateMerchantOwner makes the owner's login with a random password nobody is shown
// and an invitation through which the owner sets their own; when the login exists
// already it returns it with no invitation.
func (o IdentityOwners) CreateMerchantOwner(ctx context.Context, merchantID uuid.UUID, name, phone string) (string, string, error) {
	actor, err := o.Actor(ctx)
	if err != nil {
		return "", "", fmt.Errorf("owner account: actor: %w", err)
	}
	login := OwnerLogin(merchantID)
	u, err := o.Users.CreateUser(ctx, actor, identity.NewUser{Login: login, DisplayName: name, Kind: identity.KindMerchant,
		MerchantID: merchantID, Phone: phone, Password: randomPassword(), Roles: []string{identity.RoleMerchantOwner}})
	if errs.Is(err, "identity.login_taken") {
		return login, "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("owner account: %w", err)
	}
	inv, err := o.Users.Invite(ctx, actor, u.ID, 0)
	if err != nil {
		return "", "", fmt.Errorf("owner invitation: %w", err)
	}
	return login, inv.Path, nil
}

// randomPassword is 20 characters with letters and digits (identity's rules).
func randomPassword() string {
	const letters, digits = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ", "23456789"
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		set := letters
		if i%4 == 3 {
			set = digits
		}
		b[i] = set[int(b[i])%len(set)]
	}
	return string(b)
}
