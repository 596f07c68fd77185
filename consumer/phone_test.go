package consumer_test

import (
	"testing"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/phone"
)

// A member's phone is stored in E.164 (shared/phone) however it was written, so a
// person who joins from another app with their number written another way is the same
// consumer; what is no number is refused naming the field, and nothing is joined.
func TestJoinReadsThePhoneOneWay(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	m1, _, err := w.svc.Join(w.ctx, consumer.JoinRequest{AppID: appID, OpenID: "o-1", Phone: "+86 139-1234-5678"})
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := w.db.QueryRow(w.ctx, `SELECT phone FROM consumer.members WHERE id = $1`, m1.ID).Scan(&stored); err != nil || stored != "+8613912345678" {
		t.Fatalf("stored phone %q, %v", stored, err)
	}
	m2, created, err := w.svc.Join(w.ctx, consumer.JoinRequest{AppID: "wx-other-app", OpenID: "o-2", Phone: "139 1234 5678"})
	if err != nil || created || m2.ID != m1.ID {
		t.Fatalf("the same phone written another way: %v created=%v same=%v", err, created, m2.ID == m1.ID)
	}
	_, _, err = w.svc.Join(w.ctx, consumer.JoinRequest{AppID: appID, OpenID: "o-3", Phone: "12345"})
	if e := errs.As(err); e == nil || e.Code != phone.CodeInvalid || e.Field != "phone" {
		t.Fatalf("12345: %v", err)
	}
	var n int
	if err := w.db.QueryRow(w.ctx, `SELECT count(*) FROM consumer.members`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d members (%v)", n, err)
	}
}
