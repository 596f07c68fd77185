package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
)

// Matching's console in Chromium, in Chinese and in English: growth reviews the merge
// queue (merges one pair, undoes a merge from the history), opens a consumer's
// recommendations and a merchant's audience, each with why; on a phone as well.
func TestMatchingConsoleInChromium(t *testing.T) {
	a := testApp(t)
	demo, err := a.seedDemo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, desktopWidth, desktopHeight)
	b.step("sign in", b.signIn("growth"))

	// The queue, from the menu: pairs with conflicting verified phones wait for review.
	b.step("queue", jsClick("#nav-matching"), title("合并审核与历史"),
		until(`document.querySelectorAll("#merges tr.merge").length === 3 && document.querySelector("#merges").innerText.includes("已验证手机号不同")`))
	b.step("merge the pair with one side verified (the newest)", confirmClick(`#merges tr.merge:first-child button.approve`),
		until(text("#flash")+`.includes("已合并") && document.querySelectorAll("#merges tr.merge").length === 4`))
	// A pair with two different verified phones: two people.
	b.step("reject", b.open("/matching/merges?state=review"), confirmClick(`#merges tr.merge:first-child button.reject`),
		shows("#flash", "已驳回"))
	// History: undo an automatic merge.
	b.step("undo", b.open("/matching/merges?state=merged"), shows("#merges", "自动"),
		confirmClick(`#merges tr.merge:first-child button.undo`), shows("#flash", "合并已撤销"), shows("#merges", "已撤销"))

	// A consumer's recommendations, with why; an unknown consumer gets the popular list.
	b.step("recommendations", b.page("/matching/consumer?id="+demo.consumerID.String(), "消费者的推荐商户"),
		until(`document.querySelectorAll("#recommendations tbody tr").length === 20 && document.querySelector("#recommendations").innerText.includes("买过「")`))
	// The demo member also owns a shop (their phone is its owner's).
	b.step("owned shops", shows("#owned-shops", "已关联"), shows("h2", "该消费者名下的门店"))
	b.step("cold start", b.open("/matching/consumer?id=0190a6b2-0000-7000-8000-000000000000"),
		until(`document.querySelector("#cold-start") !== null`), shows("#recommendations", "热门"))

	// A merchant's audience (the merchant recommended first to the demo consumer).
	recs, err := a.matching.Recommendations(context.Background(), demo.consumerID, 1)
	if err != nil || len(recs) == 0 {
		t.Fatalf("recommendations: %v", err)
	}
	merchant := recs[0].MerchantID.String()
	b.step("audience", b.page("/matching/audience?merchant="+merchant, "商户的目标人群"),
		until(`document.querySelectorAll("#audience tbody tr").length > 5 && document.querySelector("#audience").innerText.includes("相似店铺")`))
	b.step("unknown merchant", b.open("/matching/audience?merchant=0190a6b2-0000-7000-8000-000000000000"),
		shows("#error", "匹配模块还没有这个商户的记录"))

	// English, and a phone.
	b.step("English", jsClick("#lang-switch"), title("A merchant's audience"),
		b.open("/matching/audience?merchant="+merchant), shows("#audience", "similar shops"))
	b.step("English recommendations", b.page("/matching/consumer?id="+demo.consumerID.String(), "A consumer's recommendations"),
		shows("#recommendations", "people who bought at"), shows("#owned-shops", "Linked"), shows("h2", "Shops this consumer owns"))
	b.step("phone", viewport(phoneWidth, phoneHeight), b.page("/matching/merges", "Merge review and history"),
		fitsPhone(), shows("#merges", "Undone"))
}

// The shop match queue in Chromium: the onboarding reviewer sees a shop record that
// shares another's owner phone and a rep's lead for a live shop waiting for review and
// the automatic links, links the pair in Chinese, and reads the queue in English, on a
// desktop and on a phone.
func TestShopMatchesInChromium(t *testing.T) {
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, desktopWidth, desktopHeight)
	b.step("sign in", b.signIn("reviewer"))
	b.step("queue", b.nav("#nav-matching-shops", "门店匹配"),
		until(`document.querySelectorAll("#shop-matches tr.shop-match").length >= 1 && document.querySelector("#shop-matches").innerText.includes("同一手机号")`))
	// A rep's lead beside the live shop it may be (leads are shops too).
	b.step("a lead in the queue", shows("#shop-matches", "线索"), shows("#shop-matches", "已上线"))
	b.step("link", jsClick(`#shop-matches tr.shop-match:first-child button.link`),
		shows("#flash", "已关联为同一家店"), shows("#shop-matches", "已关联"))
	b.step("history", b.open("/matching/shops?state=linked"), shows("#shop-matches", "reviewer"), shows("#shop-matches", "同一营业执照号"))
	b.step("English", b.lang("en"), b.page("/matching/shops", "Shop matches"), shows("#shop-matches", "Linked"),
		shows("#shop-matches", "same licence number"), shows("#shop-matches", "lead"))
	b.step("phone", viewport(phoneWidth, phoneHeight), b.page("/matching/shops", "Shop matches"), fitsPhone())
}

// A merge that moves points and tags, walked in the console in Chinese and in English:
// growth merges a pair from the review queue, sees the survivor's 360 with the merged
// member's points and tag, undoes the merge from the history and sees them back. The
// domains follow the merge through the outbox (delivered here between the steps, as the
// worker would).
func TestMergeMovesPointsInChromium(t *testing.T) {
	a := testApp(t)
	ctx := context.Background()
	if _, err := a.seedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	w := &mergeWorld{t: t, ctx: ctx, a: a}
	sys := identity.System()
	survivor, merged := w.member("o-web-merge-1", "13900000041"), w.member("o-web-merge-2", "13900000042")
	if _, err := a.consumer.Adjust(ctx, sys, survivor, 30, "web-merge-1", "welcome"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.consumer.Adjust(ctx, sys, merged, 120, "web-merge-2", "welcome"); err != nil {
		t.Fatal(err)
	}
	if err := a.consumer.AddTag(ctx, sys, merged, "夜猫子"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.matching.Propose(ctx, []matching.Candidate{{A: survivor, B: merged, Confidence: 0.8, Decision: matching.DecisionReview,
		Evidence: []matching.Evidence{{Kind: matching.EvidencePhone, Value: "+8613900000041", Weight: 0.8}}}}); err != nil {
		t.Fatal(err)
	}
	queued := func() matching.Merge {
		t.Helper()
		ms, err := a.matching.ListMerges(ctx, sys, matching.MergeReview, uuid.Nil, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Survivor == survivor && m.Merged == merged {
				return m
			}
		}
		t.Fatalf("no merge of %s into %s waits for review: %+v", merged, survivor, ms)
		return matching.Merge{}
	}
	first := queued()
	row := fmt.Sprintf(`#merges tr.merge[data-id=%q]`, first.ID.String())
	b := startBrowser(t, a, desktopWidth, desktopHeight)
	at := func(member uuid.UUID, want string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(b.open("/loyalty/members/"+member.String()), until(text("#member-spendable")+fmt.Sprintf(` === %q`, want)))
	}
	b.step("sign in", b.signIn("growth"))
	b.step("before", at(survivor, "30"), omits("#member-tags", "夜猫子"), at(merged, "120"))
	b.step("merge from the queue", b.open("/matching/merges?state=review"), confirmClick(row+" button.approve"), shows("#flash", "已合并"))
	w.deliver(events.TopicConsumersMerged, first.ID)
	b.step("the survivor's 360", at(survivor, "150"), shows("#member-tags", "夜猫子"), at(merged, "0"))
	b.step("undo from the history", b.open("/matching/merges?state=merged"), confirmClick(row+" button.undo"), shows("#flash", "合并已撤销"))
	w.deliver(events.TopicConsumerMergeUndone, first.ID)
	b.step("each has their own back", at(survivor, "30"), omits("#member-tags", "夜猫子"), at(merged, "120"), shows("#member-tags", "夜猫子"))

	// In English: merged again (a merge undone can be proposed anew) and undone.
	if _, _, err := a.matching.Propose(ctx, []matching.Candidate{{A: survivor, B: merged, Confidence: 0.8, Decision: matching.DecisionReview}}); err != nil {
		t.Fatal(err)
	}
	again := queued()
	row = fmt.Sprintf(`#merges tr.merge[data-id=%q]`, again.ID.String())
	b.step("English merge", b.lang("en"), b.open("/matching/merges?state=review"), confirmClick(row+" button.approve"), shows("#flash", "Merged"))
	w.deliver(events.TopicConsumersMerged, again.ID)
	b.step("English 360", at(survivor, "150"), shows("#member-points", "Spendable"))
	b.step("English undo", b.open("/matching/merges?state=merged"), confirmClick(row+" button.undo"), shows("#flash", "undone"))
	w.deliver(events.TopicConsumerMergeUndone, again.ID)
	b.step("English back", at(survivor, "30"), at(merged, "120"))
}
