package merchant_test

import (
	"context"
	"testing"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/identity"
)

func TestDemoIsIdempotent(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	actors := merchant.DemoActors{Rep: w.p(t, "sh1.rep"), Signer: w.p(t, "sh.manager"), Reviewer: w.p(t, "reviewer")}
	first := must[merchant.DemoResult](t)(merchant.Demo(w.ctx, w.svc, actors))
	second := must[merchant.DemoResult](t)(merchant.Demo(w.ctx, w.svc, actors))
	if first.MerchantID != second.MerchantID || len(first.Leads) != 3 || first.OwnerPassword == "" || second.OwnerLogin != first.OwnerLogin {
		t.Fatalf("first %+v, second %+v", first, second)
	}
	terms := must[merchant.Terms](t)(w.svc.Terms(w.ctx, first.MerchantID))
	if !terms.Live || terms.CommissionRate.String() != "0.065" || terms.MchID != merchant.DemoSubMchID {
		t.Fatalf("demo terms %+v", terms)
	}
	live := must[[]merchant.LiveMerchant](t)(w.svc.ListLiveMerchants(w.ctx, merchant.LiveFilter{
		Categories: []string{"restaurant"}, Near: &merchant.Point{Lat: 31.2304, Lng: 121.4737}, RadiusM: 3000}))
	if len(live) != 1 || live[0].ID != first.MerchantID || live[0].DistanceM < 1500 || live[0].DistanceM > 2000 {
		t.Fatalf("live near People's Square: %+v", live)
	}
	if far := must[[]merchant.LiveMerchant](t)(w.svc.ListLiveMerchants(w.ctx, merchant.LiveFilter{
		Near: &merchant.Point{Lat: 30.2741, Lng: 120.1551}})); len(far) != 0 {
		t.Fatalf("live near Hangzhou: %+v", far)
	}
	if len(w.owners.calls) != 1 {
		t.Fatalf("owner accounts asked %d times", len(w.owners.calls))
	}
}

// TestIdentityOwners makes the owner's login through shared/identity for real: a
// merchant-kind user holding merchant_owner, scoped to the merchant.
func TestIdentityOwners(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	owners := merchant.IdentityOwners{Users: w.ids, Actor: func(ctx context.Context) (*identity.Principal, error) {
		return w.ids.Principal(ctx, w.demo.Users["admin"])
	}}
	svc := merchant.New(domain.Deps{DB: w.db}, merchant.Ports{Owners: owners}, merchant.Config{})
	res := must[merchant.DemoResult](t)(merchant.Demo(w.ctx, svc, merchant.DemoActors{Rep: w.p(t, "sh1.rep"), Signer: w.p(t, "sh.manager"), Reviewer: w.p(t, "reviewer")}))
	if res.OwnerLogin == "" || res.OwnerPassword == "" {
		t.Fatalf("demo: %+v", res)
	}
	sess, err := w.ids.Login(w.ctx, identity.LoginAttempt{Login: res.OwnerLogin, Password: res.OwnerPassword})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := w.ids.AuthenticateSession(w.ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	if owner.Scope(identity.PermPortalRead).MerchantIDs()[0] != res.MerchantID {
		t.Fatalf("owner scope: %+v", owner.Scope(identity.PermPortalRead))
	}
	m := must[merchant.Merchant](t)(svc.GetMerchant(w.ctx, owner, res.MerchantID))
	if m.OwnerLogin != res.OwnerLogin {
		t.Fatalf("merchant: %+v", m)
	}
	// Another merchant's owner does not see it.
	_, err = svc.GetMerchant(w.ctx, w.p(t, "shop2.owner"), res.MerchantID)
	wantCode(t, err, "merchant.merchant_not_found")
	// A repeat asks identity again and gets the existing login.
	login, pw, err := owners.CreateMerchantOwner(w.ctx, res.MerchantID, "x", "13800138000")
	if err != nil || login != res.OwnerLogin || pw != "" {
		t.Fatalf("repeat: %q %q %v", login, pw, err)
	}
}
