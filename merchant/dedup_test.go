package merchant_test

import (
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/errs"
)

func TestNormalizeLicenceChecksum(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"91350100M000100Y43", "91110000600037341l", " 91110000 600037341L"} {
		if _, err := merchant.NormalizeLicence(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"91350100M000100Y44", "91350100M000100Y4", "9135010OM000100Y43"} {
		if _, err := merchant.NormalizeLicence(bad); errs.As(err) == nil || errs.As(err).Field != "licence_no" {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

// Dedup across scopes: a landline written with +86, a licence number, a similar name
// close by; the rep hears who holds the shop (name and team), never its data; a
// manager may create a similar-name duplicate with a reason, audited.
func TestDedupPhoneLicenceNameNearby(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	rep, other := w.p(t, "sh1.rep"), w.p(t, "hz1.rep")
	first := merchant.NewLead{Name: "静安咖啡 Jing'an Coffee", Category: "cafe", Address: "南京西路1266号", Lat: 31.2287, Lng: 121.4534,
		Phone: "021-6288-0000", City: "上海", LicenceNo: "91350100M000100Y43"}
	l := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, rep, first))
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, l.ID))
	far := func(n merchant.NewLead) merchant.NewLead { n.Lat += 0.05; n.Name = "Another " + n.Name; return n }
	cases := []struct {
		field string
		in    merchant.NewLead
	}{
		{"phone", func() merchant.NewLead { n := far(first); n.LicenceNo = ""; n.Phone = "+86 21 6288 0000"; return n }()},
		{"licence_no", func() merchant.NewLead {
			n := far(first)
			n.Phone = "13900001111"
			n.LicenceNo = "91350100m000100y43"
			return n
		}()},
		{"name", func() merchant.NewLead {
			n := first
			n.Name, n.Phone, n.LicenceNo, n.Lat = "静安咖啡 Jingan Coffee", "13900002222", "", first.Lat+0.001 // ~110 m
			return n
		}()},
	}
	for _, c := range cases {
		_, err := w.svc.CreateLead(w.ctx, other, c.in)
		e := wantCode(t, err, merchant.CodeDuplicate)
		if e.Field != c.field || !strings.Contains(e.Message, "held by 张销售 Zhang (sales rep) of 上海一组 SH Team 1") ||
			strings.Contains(e.Message, l.ID.String()) || strings.Contains(e.Message, "6288") {
			t.Fatalf("%s: %+v", c.field, e)
		}
	}
	hints := must[[]merchant.Duplicate](t)(w.svc.CheckDuplicates(w.ctx, other, cases[2].in))
	if len(hints) != 1 || hints[0].Reason != merchant.DupNearby || hints[0].Team != "上海一组 SH Team 1" {
		t.Fatalf("hints: %+v", hints)
	}
	// The same name 1 km away is another branch, not a duplicate.
	away := cases[2].in
	away.Lat, away.Phone = away.Lat+0.01, "13900005555"
	must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, other, away))
	// A rep may not override; a manager may, for a similar name only, with a reason.
	cases[2].in.OverrideReason = "another floor of the mall"
	_, err := w.svc.CreateLead(w.ctx, other, cases[2].in)
	if errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("rep override: %v", err)
	}
	must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, w.p(t, "sh.manager"), cases[2].in))
	if auditCount(t, w, "merchant.lead.duplicate_override") != 1 {
		t.Fatal("override not audited")
	}
	cases[0].in.OverrideReason = "x"
	_, err = w.svc.CreateLead(w.ctx, w.p(t, "sh.manager"), cases[0].in)
	wantCode(t, err, merchant.CodeDuplicate) // a phone is never held twice
}

// Dedup is symmetric: which of two similar shops came first does not matter.
func TestDedupIsSymmetric(t *testing.T) {
	t.Parallel()
	a := merchant.NewLead{Name: "老弄堂面馆", Category: "restaurant", Address: "方浜中路300号", Lat: 31.2305, Lng: 121.4880, Phone: "13900003333", City: "上海"}
	b := merchant.NewLead{Name: "老弄堂面馆 总店", Category: "restaurant", Address: "方浜中路302号", Lat: 31.2306, Lng: 121.4881, Phone: "13900004444", City: "上海"}
	for _, order := range [][2]merchant.NewLead{{a, b}, {b, a}} {
		w, _ := poolWorld(t, merchant.Config{})
		rep := w.p(t, "sh1.rep")
		must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, rep, order[0]))
		_, err := w.svc.CreateLead(w.ctx, rep, order[1])
		wantCode(t, err, merchant.CodeDuplicate)
	}
}
