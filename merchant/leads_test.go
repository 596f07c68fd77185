package merchant_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/phone"
)

// A landline is one shop however it is written, and a number that is none is refused,
// naming the field (shared/phone reads every form; these are its merchant call site).
func TestCreateLeadLandlineFormsAndBadNumbers(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	rep := w.p(t, "sh1.rep")
	first := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, rep, shop("+86 21 6288 0000")))
	if first.Phone != "021****0000" {
		t.Fatalf("a pool lead's landline shows as %q", first.Phone)
	}
	for _, phone := range []string{"021-6288-0000", "02162880000", "(021) 6288 0000"} {
		_, err := w.svc.CreateLead(w.ctx, rep, shop(phone))
		wantCode(t, err, merchant.CodeDuplicate)
	}
	for _, bad := range []string{"12345", "", "138x0013"} {
		_, err := w.svc.CreateLead(w.ctx, rep, shop(bad))
		if e := wantCode(t, err, phone.CodeInvalid); e.Field != "phone" || e.Kind != errs.KindInvalid {
			t.Fatalf("phone %q: %+v", bad, e)
		}
	}
}

func TestCreateLeadDedupe(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	rep, rep2 := w.p(t, "sh1.rep"), w.p(t, "sh2.rep")
	first := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, rep, shop("13800138000")))
	if !first.InPool || first.Phone != "138****8000" || first.Stage != merchant.StageLead {
		t.Fatalf("new lead: %+v", first)
	}
	for _, phone := range []string{"+86 138-0013-8000", "138 0013 8000", "0086-13800138000"} {
		_, err := w.svc.CreateLead(w.ctx, rep2, shop(phone))
		e := wantCode(t, err, merchant.CodeDuplicate)
		if e.Kind != errs.KindConflict || strings.Contains(e.Message, first.ID.String()) || !strings.Contains(e.Message, "held by the pool") {
			t.Fatalf("duplicate %q: %v", phone, e)
		}
	}
	// Once claimed, the refusal names the owner.
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, first.ID))
	_, err := w.svc.CreateLead(w.ctx, rep2, shop("+8613800138000"))
	if e := wantCode(t, err, merchant.CodeDuplicate); !strings.Contains(e.Message, "held by "+rep.User.ID.String()) { // no Staff port here: the id stands in
		t.Fatalf("duplicate names no owner: %v", e)
	}
}

func TestCreateLeadDedupeConcurrent(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	reps := []string{"sh1.rep", "sh2.rep", "hz1.rep", "sh1.lead", "sh.manager", "hz.lead"}
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]error, len(reps))
	for i, login := range reps {
		p := w.p(t, login)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, results[i] = w.svc.CreateLead(w.ctx, p, shop("139-0000-1111"))
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range results {
		switch {
		case err == nil:
			won++
		case errs.CodeOf(err) != merchant.CodeDuplicate:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d creates won, want exactly 1", won)
	}
}

func TestCreateLeadValidation(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	bad := shop("13800138000")
	bad.Lat = 91
	_, err := w.svc.CreateLead(w.ctx, w.p(t, "sh1.rep"), bad)
	if e := errs.As(err); e == nil || e.Field != "lat" {
		t.Fatalf("want lat invalid, got %v", err)
	}
	_, err = w.svc.CreateLead(w.ctx, w.p(t, "finance"), shop("13800138000"))
	if errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("finance creating a lead: %v", err)
	}
}

func TestScopes(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	repA, repB := w.p(t, "sh1.rep"), w.p(t, "sh2.rep")
	a := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, repA, shop("13800000101")))
	b := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, repB, shop("13800000102")))
	pool := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, repA, shop("13800000103")))
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, repA, a.ID))
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, repB, b.ID))

	// Rep A: their own lead (phone unmasked) and the pool; B's private lead is 404.
	got := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, repA, a.ID))
	if got.Phone != "13800000101" {
		t.Fatalf("owner sees a masked phone: %q", got.Phone)
	}
	_, err := w.svc.GetLead(w.ctx, repA, b.ID)
	wantCode(t, err, "merchant.lead_not_found")
	if p := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, repA, pool.ID)); p.Phone != "138****0103" {
		t.Fatalf("pool phone not masked: %q", p.Phone)
	}
	_, err = w.svc.Claim(w.ctx, repA, uuid.Must(uuid.NewV7()))
	wantCode(t, err, "merchant.lead_not_found")
	_, err = w.svc.MoveStage(w.ctx, repA, b.ID, merchant.StageContacted, "")
	wantCode(t, err, "merchant.lead_not_found")

	ids := func(p string) map[uuid.UUID]bool {
		list, _, err := w.svc.ListLeads(w.ctx, w.p(t, p), merchant.LeadFilter{})
		if err != nil {
			t.Fatal(err)
		}
		m := map[uuid.UUID]bool{}
		for _, l := range list {
			m[l.ID] = true
		}
		return m
	}
	if s := ids("sh1.rep"); !s[a.ID] || s[b.ID] || !s[pool.ID] {
		t.Fatalf("rep A lists %v", s)
	}
	if s := ids("sh1.lead"); !s[a.ID] || s[b.ID] {
		t.Fatalf("team 1 lead lists %v", s)
	}
	if s := ids("sh.manager"); !s[a.ID] || !s[b.ID] {
		t.Fatalf("city manager lists %v", s)
	}
	if s := ids("hz.lead"); s[a.ID] || s[b.ID] || s[pool.ID] { // Shanghai team 1's pool is not Hangzhou's
		t.Fatalf("Hangzhou lead lists %v", s)
	}
	// Finance: no leads at all: 403 on the list, 404 on an id.
	_, _, err = w.svc.ListLeads(w.ctx, w.p(t, "finance"), merchant.LeadFilter{})
	if errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("finance lists leads: %v", err)
	}
	_, err = w.svc.GetLead(w.ctx, w.p(t, "finance"), a.ID)
	wantCode(t, err, "merchant.lead_not_found")
	// The pool filter lists only the pool.
	list := must[[]merchant.Lead](t)(func() ([]merchant.Lead, error) {
		l, _, err := w.svc.ListLeads(w.ctx, repA, merchant.LeadFilter{PoolOnly: true})
		return l, err
	}())
	if len(list) != 1 || list[0].ID != pool.ID {
		t.Fatalf("pool: %+v", list)
	}
}
