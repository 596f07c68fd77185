package matching_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
)

// membersByPhone plays the consumer domain's members.
type membersByPhone map[string][]uuid.UUID

func (m membersByPhone) MembersByPhone(_ context.Context, phone string) ([]uuid.UUID, error) {
	return m[phone], nil
}

// Shops are matched by the signals of lead dedup: two that agree link at once, one
// signal or a licence conflict goes to review; the owner is linked to the one member
// with their phone, and to review when several members share it.
func TestShopsMatchedAndOwnersLinked(t *testing.T) {
	t.Parallel()
	w, _, as := staffWorld(t)
	owner, twinA, twinB := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	svc := matching.New(domain.Deps{DB: w.db}, matching.Ports{Members: membersByPhone{
		"+8613900000001": {owner}, "+8613900000009": {twinA, twinB}}}, matching.Config{})
	live := func(name, phone, licence string, lat, lng float64) uuid.UUID {
		t.Helper()
		e := events.MerchantLive{MerchantID: uuid.Must(uuid.NewV7()), LeadID: uuid.Must(uuid.NewV7()), Name: name, Category: "restaurant",
			Lat: lat, Lng: lng, OwnerPhone: phone, LicenceNo: licence, LiveAt: time.Now()}
		for range 2 { // redelivered
			w.must(svc.RecordShop(w.ctx, e))
		}
		return e.LeadID
	}
	first := live("老王小笼包 人民广场店", "+8613900000001", "91310000MA1FL0001X", 31.2304, 121.4737)
	branch := live("老王小笼包 人民广场", "+8613900000002", "91310000MA1FL0001X", 31.2306, 121.4737) // ~20 m, same licence
	samePhone := live("王记面馆", "+8613900000001", "", 31.30, 121.50)                          // far, another name
	conflict := live("老王小笼包 人民广场店", "+8613900000001", "91310000MA1FL0002Y", 31.2305, 121.4737)
	live("星巴克", "+8613900000009", "", 31.10, 121.30)

	p := as("admin")
	all, err := svc.ListShopMatches(w.ctx, p, "", 50)
	w.must(err)
	byPair := map[[2]uuid.UUID]matching.ShopMatch{}
	for _, m := range all {
		byPair[[2]uuid.UUID{m.A, m.B}] = m
	}
	pair := func(x, y uuid.UUID) matching.ShopMatch {
		t.Helper()
		if x.String() > y.String() {
			x, y = y, x
		}
		m, ok := byPair[[2]uuid.UUID{x, y}]
		if !ok {
			t.Fatalf("no match between %s and %s in %+v", x, y, all)
		}
		return m
	}
	if m := pair(first, branch); m.State != matching.LinkLinked || !m.Automatic || m.Confidence < matching.AutoMergeAbove {
		t.Errorf("same licence and name nearby: %+v", m)
	}
	if m := pair(first, samePhone); m.State != matching.LinkReview {
		t.Errorf("the phone alone: %+v", m)
	}
	if m := pair(first, conflict); m.State != matching.LinkReview || m.Confidence < matching.AutoMergeAbove {
		t.Errorf("two licences, whatever else agrees: %+v", m)
	}

	// A reviewer links one; a second decision is refused, an unknown one is 404.
	queued := pair(first, samePhone)
	got, err := svc.DecideShopMatch(w.ctx, p, queued.ID, true)
	if err != nil || got.State != matching.LinkLinked || got.DecidedBy == "" {
		t.Fatalf("link: %+v %v", got, err)
	}
	if _, err := svc.DecideShopMatch(w.ctx, p, queued.ID, false); errs.As(err) == nil || errs.As(err).Code != matching.CodeShopMatchState {
		t.Fatalf("second decision: %v", err)
	}
	if _, err := svc.DecideShopMatch(w.ctx, p, uuid.New(), true); errs.As(err) == nil || errs.As(err).Kind != errs.KindNotFound {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := svc.DecideShopMatch(w.ctx, as("growth"), queued.ID, true); errs.As(err) == nil || errs.As(err).Kind != errs.KindForbidden {
		t.Fatalf("growth operator deciding a shop match: %v", err)
	}

	// Owners: one member with the phone is linked, two go to review.
	shops, err := svc.ShopsOwnedBy(w.ctx, p, owner)
	w.must(err)
	if len(shops) != 3 || shops[0].State != matching.LinkLinked || shops[0].ShopName == "" {
		t.Errorf("the owner's shops: %+v", shops)
	}
	// The owner merged into another member: the survivor owns the shops; undone, not.
	survivor, mergeID := uuid.New(), uuid.New()
	_, err = w.db.Exec(w.ctx, `INSERT INTO matching.merges (id, survivor, merged, confidence, evidence, conflicts, automatic, state, created_at)
		VALUES ($1, $2, $3, 1, '[]', '[]', false, 'merged', now())`, mergeID, survivor, owner)
	w.must(err)
	if got, err := svc.ShopsOwnedBy(w.ctx, p, survivor); err != nil || len(got) != 3 {
		t.Errorf("the survivor's shops after the merge: %+v %v", got, err)
	}
	_, err = w.db.Exec(w.ctx, `UPDATE matching.merges SET state = 'undone' WHERE id = $1`, mergeID)
	w.must(err)
	if got, err := svc.ShopsOwnedBy(w.ctx, p, survivor); err != nil || len(got) != 0 {
		t.Errorf("the survivor's shops after the undo: %+v %v", got, err)
	}
	for _, c := range []uuid.UUID{twinA, twinB} {
		shops, err := svc.ShopsOwnedBy(w.ctx, p, c)
		w.must(err)
		if len(shops) != 1 || shops[0].State != matching.LinkReview {
			t.Errorf("a member sharing a phone: %+v", shops)
		}
	}
}
