package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// The growth operator issues a coupon by hand from a member's 360, in Chromium, in
// Chinese then English: the coupon is issued and audited under them; a second of a
// batch of one per member, a batch whose stock is taken and a batch whose dates are over
// are refused in the operator's words, issuing nothing. The API's issue by hand refuses
// and audits the same.
func TestGrowthIssuesACouponByHandInChromium(t *testing.T) {
	a := testApp(t)
	ctx := context.Background()
	_, demo := seedDemoWithLogins(t, a)
	growth, err := a.identity.Principal(ctx, demo.Users["growth"])
	if err != nil {
		t.Fatal(err)
	}
	var lina, other uuid.UUID
	if err := a.db.QueryRow(ctx, `SELECT (SELECT id FROM consumer.members WHERE phone = '+8613800138001'),
		(SELECT id FROM consumer.members WHERE phone <> '+8613800138001' ORDER BY id LIMIT 1)`).Scan(&lina, &other); err != nil {
		t.Fatal(err)
	}
	batch := func(name string, stock, perMember int, tpl consumer.CouponTemplate) string {
		t.Helper()
		tpl.Name, tpl.Kind, tpl.AmountFen = name, consumer.CouponAmount, 500
		tt, err := a.consumer.CreateCouponTemplate(ctx, growth, tpl)
		if err != nil {
			t.Fatal(err)
		}
		b, err := a.consumer.CreateCouponBatch(ctx, growth, consumer.CouponBatch{TemplateID: tt.ID, Name: name, Stock: stock, PerMember: perMember})
		if err != nil {
			t.Fatal(err)
		}
		return b.ID.String()
	}
	one := batch("一人一张", 10, 1, consumer.CouponTemplate{ValidDays: 30})
	taken := batch("限量一张", 1, 5, consumer.CouponTemplate{ValidDays: 30})
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 31, 8, 0, 0, 0, time.UTC)
	over := batch("一月专享", 10, 5, consumer.CouponTemplate{ValidFrom: &from, ValidTo: &to})
	if _, err := a.consumer.IssueCouponByHand(ctx, growth, uuid.MustParse(taken), other, "the only one"); err != nil {
		t.Fatal(err)
	}

	b := startBrowser(t, a, desktopWidth, desktopHeight)
	lina360 := b.open("/loyalty/members/" + lina.String())
	b.step("growth opens 李娜's 360", b.signIn("growth"), lina360, title("会员 360"),
		shows("#issue-coupon-form", "一人一张"), shows("#issue-coupon-form", "剩 10 张"))
	issue := func(batch string) chromedp.Action[chromedp.Void] {
		return submit("#issue-coupon-form", map[string]string{"batch_id": batch})
	}
	b.step("a coupon issued", issue(one), shows("#flash", "券已发放。"), shows("#member-coupons", "一人一张"), shows("#member-coupons", "手动发放"))
	b.step("a second of one per member", issue(one), shows("#error", "这位会员已有 1 张这批券，已达每人上限 1 张。"))
	b.step("stock taken", lina360, issue(taken), shows("#error", "券已领完。"))
	b.step("dates over", lina360, issue(over), shows("#error", "这张券已于 2026-01-31 过期。"))
	b.step("English", b.lang("en"), lina360, title("Member 360"), shows("#issue-coupon-form", "Issue a coupon"), shows("#issue-coupon-form", "9 left"),
		issue(one), shows("#error", "This member already has 1 of this batch's coupons, the most one member may have (1)."))
	b.step("English stock taken", lina360, issue(taken), shows("#error", "All coupons of this batch are taken."))
	b.step("English dates over", lina360, issue(over), shows("#error", "This coupon expired on 2026-01-31."))
	b.step("phone", viewport(phoneWidth, phoneHeight), lina360, title("Member 360"), fitsPhone())

	// Through the API, as the same operator: refused in their words, then the audit.
	_, token, err := a.identity.CreateToken(ctx, growth, identity.NewToken{Name: "issue"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", b.url+"/api/v1/consumer/coupon-batches/"+one+"/issues",
		strings.NewReader(fmt.Sprintf(`{"consumer_id":%q,"key":"api-1"}`, lina)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept-Language", "zh-CN")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got httpx.ErrorBody
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 422 || got.Error.Code != consumer.CodeCouponLimit ||
		got.Error.Message != "这位会员已有 1 张这批券，已达每人上限 1 张。" {
		t.Fatalf("the API's second of one per member: %d %+v (%v)", res.StatusCode, got, err)
	}
	var held, issued, audited int
	if err := a.db.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM consumer.coupons WHERE consumer_id = $1 AND batch_id = ANY($2::uuid[])),
		(SELECT sum(issued) FROM consumer.coupon_batches WHERE id = ANY($2::uuid[])),
		(SELECT count(*) FROM audit.entries WHERE action = 'consumer.coupon.issue' AND actor_login = 'growth'
		   AND after->>'consumer_id' = $1::text AND after->>'batch_id' = $3)`,
		lina, []string{one, taken, over}, one).Scan(&held, &issued, &audited); err != nil {
		t.Fatal(err)
	}
	if held != 1 || issued != 2 || audited != 1 {
		t.Fatalf("李娜 holds %d of the batches (want 1), %d issued of them (want 2: hers and the stock's one), %d audited issues to her (want 1)",
			held, issued, audited)
	}
}
