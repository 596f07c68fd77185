package main

import (
	"context"
	"testing"
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
// shares another's owner phone waiting for review and the automatic links, links the
// pair in Chinese, and reads the queue in English, on a desktop and on a phone.
func TestShopMatchesInChromium(t *testing.T) {
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, desktopWidth, desktopHeight)
	b.step("sign in", b.signIn("reviewer"))
	b.step("queue", b.nav("#nav-matching-shops", "门店匹配"),
		until(`document.querySelectorAll("#shop-matches tr.shop-match").length >= 1 && document.querySelector("#shop-matches").innerText.includes("同一手机号")`))
	b.step("link", jsClick(`#shop-matches tr.shop-match:first-child button.link`),
		shows("#flash", "已关联为同一家店"), shows("#shop-matches", "已关联"))
	b.step("history", b.open("/matching/shops?state=linked"), shows("#shop-matches", "reviewer"), shows("#shop-matches", "同一营业执照号"))
	b.step("English", b.lang("en"), b.page("/matching/shops", "Shop matches"), shows("#shop-matches", "Linked"),
		shows("#shop-matches", "same licence number"))
	b.step("phone", viewport(phoneWidth, phoneHeight), b.page("/matching/shops", "Shop matches"), fitsPhone())
}
