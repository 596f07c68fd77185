package merchant_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/errs"
)

// race runs fns at once (a barrier, no sleeps) and returns their errors.
func race(fns ...func() error) []error {
	out := make([]error, len(fns))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = fn()
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func TestClaimConcurrentExactlyOneWins(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	logins := []string{"sh1.rep", "sh2.rep", "hz1.rep", "sh1.lead"}
	for round := range 5 {
		l := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, w.p(t, "sh1.rep"), shop(fmt.Sprintf("1380000020%d", round))))
		var fns []func() error
		for _, login := range logins {
			p := w.p(t, login)
			fns = append(fns, func() error { _, err := w.svc.Claim(w.ctx, p, l.ID); return err })
		}
		won := 0
		for _, err := range race(fns...) {
			switch {
			case err == nil:
				won++
			// A loser who may still see the lead hears it left the pool; one who
			// may not (it went to another team) gets 404, as for any unseen row.
			case errs.CodeOf(err) != merchant.CodeNotInPool && errs.CodeOf(err) != "merchant.lead_not_found":
				t.Fatalf("unexpected: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d claims won", round, won)
		}
	}
	if n := auditCount(t, w, "merchant.lead.claim"); n != 5 {
		t.Fatalf("%d claim audit entries, want 5", n)
	}
}

func TestHoldingCapUnderConcurrency(t *testing.T) {
	const capN = 3
	w := newWorld(t, merchant.Config{HoldingCap: capN})
	rep := w.p(t, "sh1.rep")
	var leads []uuid.UUID
	for i := range 8 {
		leads = append(leads, must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, rep, shop(fmt.Sprintf("1380000030%d", i)))).ID)
	}
	var fns []func() error
	for _, id := range leads {
		fns = append(fns, func() error { _, err := w.svc.Claim(w.ctx, rep, id); return err })
	}
	won := 0
	for _, err := range race(fns...) {
		switch {
		case err == nil:
			won++
		case errs.CodeOf(err) != merchant.CodeHoldingCap:
			t.Fatalf("unexpected: %v", err)
		}
	}
	if won != capN {
		t.Fatalf("%d claims won, the cap is %d", won, capN)
	}
	var held int
	if err := w.db.QueryRow(w.ctx, "SELECT count(*) FROM merchant.leads WHERE owner_id = $1", rep.User.ID).Scan(&held); err != nil {
		t.Fatal(err)
	}
	if held != capN {
		t.Fatalf("rep holds %d", held)
	}
	// At the cap: refused; after a release: allowed again.
	list, _, _ := w.svc.ListLeads(w.ctx, rep, merchant.LeadFilter{PoolOnly: true})
	_, err := w.svc.Claim(w.ctx, rep, list[0].ID)
	wantCode(t, err, merchant.CodeHoldingCap)
	mine, _, _ := w.svc.ListLeads(w.ctx, rep, merchant.LeadFilter{})
	var owned uuid.UUID
	for _, l := range mine {
		if !l.InPool {
			owned = l.ID
		}
	}
	_, err = w.svc.Release(w.ctx, rep, owned, "")
	wantCode(t, err, "invalid_input")
	released := must[merchant.Lead](t)(w.svc.Release(w.ctx, rep, owned, "owner not reachable"))
	if !released.InPool || !strings.Contains(released.Phone, "****") {
		t.Fatalf("released: %+v", released)
	}
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, list[0].ID))
	hist := must[[]merchant.OwnerChange](t)(w.svc.OwnerHistory(w.ctx, rep, list[0].ID))
	if len(hist) != 2 || hist[0].Event != "created" || hist[1].Event != "claimed" || *hist[1].To != rep.User.ID {
		t.Fatalf("owner history: %+v", hist)
	}
	if auditCount(t, w, "merchant.lead.release") != 1 {
		t.Fatal("release not audited")
	}
	// Someone else's lead is not in the pool.
	other := w.p(t, "sh1.lead")
	_, err = w.svc.Claim(w.ctx, other, list[0].ID)
	wantCode(t, err, merchant.CodeNotInPool)
}
