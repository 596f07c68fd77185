package offline

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/phone"
)

// DemoShops gives the demo's shop matching something to show: the first synthetic
// merchants as shops with an owner phone and a licence number, a second record of one
// of them (same licence and name 30 m away: linked automatically), a shop
// sharing another's phone far away (waiting for review), a rep's lead for a live shop
// (waiting for review), and a shop whose owner is the
// demo member (ownerPhone; linked to their consumer identity when matching has the
// members port). Running it again changes nothing.
func DemoShops(ctx context.Context, svc *matching.Service, ownerPhone string, now time.Time) error {
	merchants, _, err := svc.Export(ctx)
	if err != nil {
		return err
	}
	merchants = slices.DeleteFunc(merchants, func(m matching.ModelMerchant) bool { return !m.Live || m.Name == "" })
	if len(merchants) < 3 {
		return nil
	}
	slices.SortFunc(merchants, func(a, b matching.ModelMerchant) int { return slices.Compare(a.ID[:], b.ID[:]) })
	owner, err := phone.Normalize("phone", ownerPhone)
	if err != nil {
		return err
	}
	shop := func(id uuid.UUID, name, phone, licence string, lat, lng float64) error {
		// The lead of a demo shop is named after it: the demo has no lead for these.
		lead := uuid.NewSHA1(uuid.NameSpaceOID, []byte("demo-lead:"+id.String()))
		return svc.RecordShop(ctx, events.MerchantLive{MerchantID: id, LeadID: lead, Name: name, Category: "", Lat: lat, Lng: lng,
			OwnerPhone: phone, LicenceNo: licence, LiveAt: now})
	}
	for i, m := range merchants[:3] {
		p := fmt.Sprintf("+86139100000%02d", i)
		if i == 2 {
			p = owner
		}
		if err := shop(m.ID, m.Name, p, fmt.Sprintf("9131000000000%04dX", i), m.Lat, m.Lng); err != nil {
			return err
		}
	}
	a, b := merchants[0], merchants[1]
	twin := uuid.NewSHA1(uuid.NameSpaceOID, []byte("demo-shop-twin:"+a.ID.String()))
	if err := shop(twin, a.Name, "+8613910000090", "91310000000000000X", a.Lat+0.0003, a.Lng); err != nil {
		return err
	}
	far := uuid.NewSHA1(uuid.NameSpaceOID, []byte("demo-shop-far:"+b.ID.String()))
	if err := shop(far, "城北分店", "+8613910000001", "", b.Lat+0.05, b.Lng+0.05); err != nil {
		return err
	}
	// A rep's lead, not yet signed, for the third shop under its name 40 m away: the
	// queue shows a lead beside a live merchant.
	c := merchants[2]
	return svc.RecordLead(ctx, events.LeadChanged{LeadID: uuid.NewSHA1(uuid.NameSpaceOID, []byte("demo-lead-twin:"+c.ID.String())),
		Name: c.Name, Lat: c.Lat + 0.0004, Lng: c.Lng, Phone: "+8613910000091", At: now})
}
