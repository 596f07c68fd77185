package merchant_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/identity"
)

func TestDemoIsIdempotent(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	actors := merchant.DemoActors{Rep: w.p(t, "sh1.rep"), Signer: w.p(t, "sh.manager"), Reviewer: w.p(t, "reviewer")}
	first := must[merchant.DemoResult](t)(merchant.Demo(w.ctx, w.svc, actors))
	second := must[merchant.DemoResult](t)(merchant.Demo(w.ctx, w.svc, actors))
	if first.MerchantID != second.MerchantID || len(first.Leads) != 8 || first.OwnerInvitation == "" || second.OwnerLogin != first.OwnerLogin {
		t.Fatalf("first %+v, second %+v", first, second)
	}
	terms := must[merchant.Terms](t)(w.svc.Terms(w.ctx, first.MerchantID))
	if !terms.Live || terms.CommissionRate.String() != "0.065" || terms.MchID != merchant.DemoSubMchID {
		t.Fatalf("demo terms %+v", terms)
	}
	live := must[[]merchant.LiveMerchant](t)(w.svc.ListLiveMerchants(w.ctx, merchant.LiveFilter{
		Categories: []string{"restaurant"}, Near: &merchant.Point{Lat: 31.2304, Lng: 121.4737}, RadiusM: 3000}))
	if len(live) != 2 || live[0].ID != first.MerchantID && live[1].ID != first.MerchantID {
		t.Fatalf("live near People's Square: %+v", live)
	}
	if far := must[[]merchant.LiveMerchant](t)(w.svc.ListLiveMerchants(w.ctx, merchant.LiveFilter{
		Near: &merchant.Point{Lat: 30.2741, Lng: 120.1551}})); len(far) != 0 {
		t.Fatalf("live near Hangzhou: %+v", far)
	}
	// Applications in every review state: the reviewer's queue shows the waiting one.
	queue, _, err := w.svc.ListApplications(w.ctx, w.p(t, "reviewer"), merchant.QueueFilter{})
	if err != nil || len(queue) != 2 { // waiting for review, and the one for WeChat (no WeChat here)
		t.Fatalf("queue: %+v %v", queue, err)
	}
	all, _, err := w.svc.ListApplications(w.ctx, w.p(t, "reviewer"), merchant.QueueFilter{All: true})
	if err != nil || len(all) != 6 {
		t.Fatalf("applications: %d %v", len(all), err)
	}
	if len(w.owners.calls) != 2 {
		t.Fatalf("owner accounts asked %d times", len(w.owners.calls))
	}
	// The names other domains show merchants by, in one read; an id of no merchant is absent.
	names, err := w.svc.MerchantNames(w.ctx, []uuid.UUID{first.MerchantID, uuid.New(), first.MerchantID})
	if err != nil || len(names) != 1 || names[first.MerchantID] != "南翔小笼 Nanxiang Xiaolongbao" {
		t.Fatalf("names: %v %v", names, err)
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
	if res.OwnerLogin == "" || !strings.HasPrefix(res.OwnerInvitation, "/invite/tdi_") {
		t.Fatalf("demo: %+v", res)
	}
	// The owner sets their own password through the invitation, once.
	token := strings.TrimPrefix(res.OwnerInvitation, "/invite/")
	if login, err := w.ids.AcceptInvitation(w.ctx, token, "Owner-sets-1t"); err != nil || login != res.OwnerLogin {
		t.Fatalf("accept: %q %v", login, err)
	}
	_, err := w.ids.AcceptInvitation(w.ctx, token, "Someone-else-2")
	wantCode(t, err, identity.CodeInvitationInvalid)
	sess, err := w.ids.Login(w.ctx, identity.LoginAttempt{Login: res.OwnerLogin, Password: "Owner-sets-1t"})
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
	login, inv, err := owners.CreateMerchantOwner(w.ctx, res.MerchantID, "x", "13800138000")
	if err != nil || login != res.OwnerLogin || inv != "" {
		t.Fatalf("repeat: %q %q %v", login, inv, err)
	}
}

// The demo's live shops become identity's demo merchants, so shop.owner's portal
// shows a real merchant and shop2.owner's another.
func TestDemoOwnersSeeTheirMerchants(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	actors := merchant.DemoActors{Rep: w.p(t, "sh1.rep"), Signer: w.p(t, "sh.manager"), Reviewer: w.p(t, "reviewer"),
		Live: []merchant.DemoMerchant{{ID: w.demo.Merchants["A"], OwnerLogin: "shop.owner"}, {ID: w.demo.Merchants["B"], OwnerLogin: "shop2.owner"}}}
	res := must[merchant.DemoResult](t)(merchant.Demo(w.ctx, w.svc, actors))
	if res.MerchantID != w.demo.Merchants["A"] || res.OwnerLogin != "shop.owner" || len(w.owners.calls) != 0 {
		t.Fatalf("demo: %+v, owner accounts asked %d", res, len(w.owners.calls))
	}
	m := must[merchant.Merchant](t)(w.svc.GetMerchant(w.ctx, w.p(t, "shop.owner"), w.demo.Merchants["A"]))
	if m.Status != "live" || m.OwnerLogin != "shop.owner" {
		t.Fatalf("shop.owner's merchant: %+v", m)
	}
	must[merchant.Merchant](t)(w.svc.GetMerchant(w.ctx, w.p(t, "shop2.owner"), w.demo.Merchants["B"]))
	_, err := w.svc.GetMerchant(w.ctx, w.p(t, "shop2.owner"), w.demo.Merchants["A"])
	wantCode(t, err, "merchant.merchant_not_found")
}

// The demo's rep visits the shops one after another, a realistic trip apart: none of
// its check-ins is flagged as impossible travel, whatever the hour it is made at, and
// its day never crosses Shanghai's midnight nor reaches into the future. The flag
// still fires for a real impossible pair made next.
func TestDemoCheckInsAreAPlausibleDay(t *testing.T) {
	for _, c := range []struct {
		name     string
		now      time.Time
		dayAgo   int // the visits' Shanghai day, days before now's
		lastHour int // the last visit's hour of that day
	}{
		{"afternoon", time.Date(2026, 12, 7, 15, 0, 0, 0, clock.Shanghai), 0, 14},
		{"after midnight", time.Date(2026, 12, 7, 0, 30, 0, 0, clock.Shanghai), 1, 14},
		{"late evening", time.Date(2026, 12, 7, 23, 59, 0, 0, clock.Shanghai), 0, 23},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newFieldWorld(t, merchant.Config{})
			w.clk.Freeze(c.now)
			rep := w.p(t, "sh1.rep")
			res := must[merchant.DemoResult](t)(merchant.Demo(w.ctx, w.svc, merchant.DemoActors{Rep: rep, Signer: w.p(t, "sh.manager"), Reviewer: w.p(t, "reviewer")}))
			rows, err := w.db.Query(w.ctx, `SELECT at, flag FROM merchant.visits WHERE by_user = $1 ORDER BY at`, rep.User.ID)
			if err != nil {
				t.Fatal(err)
			}
			type visit struct {
				At   time.Time
				Flag string
			}
			visits, err := pgx.CollectRows(rows, pgx.RowToStructByPos[visit])
			if err != nil || len(visits) != 7 {
				t.Fatalf("demo visits: %d %v", len(visits), err)
			}
			day := clock.Day(c.now).AddDate(0, 0, -c.dayAgo)
			for i, v := range visits {
				if v.Flag != "" || v.At.After(c.now) || !clock.Day(v.At).Equal(day) || i > 0 && v.At.Sub(visits[i-1].At) < 30*time.Minute {
					t.Fatalf("visit %d of %v (now %v): %+v", i, visits, c.now, v)
				}
			}
			if last := visits[len(visits)-1].At.In(clock.Shanghai); last.Hour() != c.lastHour {
				t.Fatalf("last visit at %v", last)
			}
			// The rep's next check-in at 外滩面馆 is a plausible trip from the demo's last
			// shop; 徐家汇甜品, ~7 km away, a minute later is not.
			bund, xujiahui := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, rep, res.Leads[3])), must[merchant.Lead](t)(w.svc.GetLead(w.ctx, rep, res.Leads[4]))
			if v := must[merchant.Visit](t)(w.svc.CheckIn(w.ctx, rep, bund.ID, merchant.CheckIn{Lat: bund.Lat, Lng: bund.Lng})); v.Flag != "" {
				t.Fatalf("the next check-in flagged: %+v", v)
			}
			w.clk.Advance(time.Minute)
			if v := must[merchant.Visit](t)(w.svc.CheckIn(w.ctx, rep, xujiahui.ID, merchant.CheckIn{Lat: xujiahui.Lat, Lng: xujiahui.Lng})); v.Flag != merchant.CodeFlagTooFast {
				t.Fatalf("7 km in a minute not flagged: %+v", v)
			}
		})
	}
}
