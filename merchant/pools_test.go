package merchant_test

import (
	"testing"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/identity"
)

// checkedIn records an accepted check-in at l, which "visited" needs.
func checkedIn(t *testing.T, w *world, rep *identity.Principal, l merchant.Lead) {
	t.Helper()
	must[merchant.Visit](t)(w.svc.CheckIn(w.ctx, rep, l.ID, merchant.CheckIn{Lat: l.Lat, Lng: l.Lng, Note: "at the door"}))
}
