package identity_test

import (
	"testing"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/phone"
)

// Users' and consumers' phones go through shared/phone: any Chinese form is one E.164
// number, and what is no number is refused naming the field.
func TestPhonesAreOneNumberInEveryForm(t *testing.T) {
	w := newWorld(t)
	admin := w.p(t, "admin")
	u, err := w.svc.CreateUser(w.ctx, admin, identity.NewUser{Login: "desk.phone", DisplayName: "Desk", OrgUnitID: w.demo.Units[identity.DemoSHTeam1],
		Password: "long-enough-pw-1", Phone: "021-6288-0000"})
	if err != nil || u.Phone != "+862162880000" {
		t.Fatalf("create: %v %q", err, u.Phone)
	}
	landline := "+86 21 6288 0001"
	u, err = w.svc.UpdateUser(w.ctx, admin, u.ID, identity.UserPatch{Phone: &landline})
	if err != nil || u.Phone != "+862162880001" {
		t.Fatalf("patch: %v %q", err, u.Phone)
	}
	bad := "12345"
	_, err = w.svc.UpdateUser(w.ctx, admin, u.ID, identity.UserPatch{Phone: &bad})
	if e := errs.As(err); e == nil || e.Code != phone.CodeInvalid || e.Field != "phone" || e.Kind != errs.KindInvalid {
		t.Fatalf("patch 12345: %v", err)
	}
	_, err = w.svc.CreateUser(w.ctx, admin, identity.NewUser{Login: "bad.phone", DisplayName: "Bad", OrgUnitID: w.demo.Units[identity.DemoSHTeam1],
		Password: "long-enough-pw-1", Phone: "12345"})
	wantCode(t, err, phone.CodeInvalid)

	// A consumer known by a phone is found by it however it is written.
	a, created, err := w.svc.ResolveConsumer(w.ctx, identity.ConsumerClaims{Phone: "138 0013 8000"})
	if err != nil || !created {
		t.Fatalf("first: %v %v", err, created)
	}
	for _, form := range []string{"+86-138-0013-8000", "8613800138000", "13800138000"} {
		b, created, err := w.svc.ResolveConsumer(w.ctx, identity.ConsumerClaims{Phone: form})
		if err != nil || created || b != a {
			t.Fatalf("%s: %v created=%v same=%v", form, err, created, b == a)
		}
	}
	ids, err := w.svc.ConsumerIdentities(w.ctx, a)
	if err != nil || len(ids) != 1 || ids[0].Value != "+8613800138000" {
		t.Fatalf("identities: %v %+v", err, ids)
	}
	_, _, err = w.svc.ResolveConsumer(w.ctx, identity.ConsumerClaims{Phone: "12345"})
	wantCode(t, err, phone.CodeInvalid)
}
