package main

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

// A message campaign goes out as WeChat subscribe messages (the simulator plays
// WeChat): members who agreed to the template get it once, even when the send is
// run again; a member who did not agree is refused, not sent to.
func TestCampaignMessagesGoOutAsSubscribeMessages(t *testing.T) {
	t.Parallel()
	w := newOffersWorld(t, 3, 0)
	sim := startMiniProgramSim(t, w.a)
	const tpl = "TPL-campaign-1"
	for i, times := range []int{1, 2} { // the third member never agreed
		openid := "o-offers-" + string(rune('0'+i))
		if _, err := sim.Subscribe(w.ctx, wxsim.SubscribeGrant{AppID: w.a.cfg.WxpayAppID, OpenID: openid, TemplateID: tpl, Times: times}); err != nil {
			t.Fatal(err)
		}
	}
	mkt := marketing.New(domain.Deps{DB: w.a.db, Log: w.a.log, Clock: w.a.clock}, marketing.Ports{Channel: newWechatChannel(w.a)},
		marketing.Config{SendBatch: 2, TailEvery: time.Nanosecond})
	sys := identity.System()
	sg, err := mkt.SaveSegment(w.ctx, sys, uuid.Nil, "everyone", marketing.Rule{Field: "joined_after", Date: "2000-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := mkt.CreateCampaign(w.ctx, sys, marketing.CampaignInput{Name: "上新提醒", SegmentID: sg.ID, Offer: marketing.OfferMessage,
		Message: "新品上市，满30减5券已放入卡包，快来看看吧！", MessageTemplate: tpl, BudgetFen: 100, Schedule: marketing.ScheduleOnce})
	if err != nil {
		t.Fatal(err)
	}
	run, err := mkt.StartNow(w.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := mkt.SendRun(w.ctx, run); err != nil {
		t.Fatal(err)
	}
	// A second sender (a retried task) sends nothing more.
	if _, err := w.a.db.Exec(w.ctx, `UPDATE marketing.campaign_runs SET state = 'sending', next_seq = 0, lease_until = NULL WHERE id = $1`, run); err != nil {
		t.Fatal(err)
	}
	if err := mkt.SendRun(w.ctx, run); err != nil {
		t.Fatal(err)
	}
	got := sim.SubscribeMessages()
	if len(got) != 2 {
		t.Fatalf("%d messages delivered, want 2 (one each to the members who agreed): %+v", len(got), got)
	}
	seen := map[string]bool{}
	for _, m := range got {
		if seen[m.ToUser] || m.TemplateID != tpl || []rune(m.Data["thing1"]["value"])[19] != '…' {
			t.Errorf("message %+v", m)
		}
		seen[m.ToUser] = true
	}
	if n := w.scalar(`SELECT count(*) FROM marketing.sends WHERE run_id = $1 AND arm = 'refused'`, run); n != 1 {
		t.Errorf("%d members refused, want the one who never agreed", n)
	}
}
