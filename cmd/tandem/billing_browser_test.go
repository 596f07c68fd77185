package main

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/money"
)

// The finance console in Chromium, in Chinese on a phone: finance finds the demo order,
// reads its ledger and notifications, sees the line picker on the demo's two-line
// order, refunds part of the one-line order, asks for a refund over the
// limit (an admin approves it on their to-do list and it goes to WeChat), works the
// day's statement (an adjustment, issuing refused while the day is open, issued the
// next day, paid with a reference, exported to Excel) and starts a reconciliation run.
// Then the merchant's owner, in English, sees their orders and the issued statement
// and none of finance's actions; another merchant's owner sees none of it; finance,
// in English, has the two-line order's line picker too. Merchants read by their names
// (the merchant domain's), their ids on hover or under the name, never an id's prefix.
func TestFinanceConsoleInChromium(t *testing.T) {
	s := startStory(t)
	d, err := s.a.seedDemo(s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.a.cfg.RefundApproval = "100.00" // the demo order is 128.50
	if err := s.a.openPayments(s.ctx); err != nil {
		t.Fatal(err)
	}
	demo, err := billing.Demo(s.ctx, s.a.billing, d.consumerID, d.merchantID, s.simURL)
	if err != nil {
		t.Fatal(err)
	}
	o, lines := demo.Order, demo.Lines
	s.settle()
	state := func(o billing.Order) billing.State {
		got, err := s.a.billing.MyOrder(s.ctx, d.consumerID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.State
	}
	s.eventually("the demo orders paid", func() bool { return state(o) == billing.StatePaid && state(lines) == billing.StatePaid })
	clk := s.a.clock
	day := clk.Now().In(clock.Shanghai).Format(time.DateOnly)
	orderPage := "/billing/orders/" + o.ID.String()
	linesPage := "/billing/orders/" + lines.ID.String()

	s.a.reg = prometheus.NewRegistry() // the story's API registered the HTTP metrics; the browser's server is a second router
	b := startBrowser(t, s.a, phoneWidth, phoneHeight)
	b.step("finance signs in", b.lang("zh-CN"), b.signIn("finance"))
	b.step("orders in the menu", b.nav("#nav-billing-orders", "订单"))
	const shop = "南翔小笼 Nanxiang Xiaolongbao"
	byName := func(list string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(shows(list, shop), omits(list, d.merchantID.String()[:8]),
			until(fmt.Sprintf(`(tds => tds.length > 0 && tds.every(td => td.innerText === %q))([...document.querySelectorAll('%s td[title="%s"]')])`,
				shop, list, d.merchantID)))
	}
	b.step("search by order number", b.open("/billing/orders?order_no="+url.QueryEscape(o.OrderNo[:10])), shows("#billing-orders", o.OrderNo),
		byName("#billing-orders"))
	b.step("the order's page", jsClick(fmt.Sprintf(`#billing-orders a[href=%q]`, orderPage)), shows("#order-no", o.OrderNo),
		shows("#order-merchant", shop), shows("#order-merchant", d.merchantID.String()),
		shows("#order-state", "已支付"), shows("#order-postings", "应付商户"), shows("#order-notifications", "已入账"), fitsPhone())
	b.step("the two-line order picks lines", b.open(linesPage), shows("#order-no", lines.OrderNo), shows("#order-line-2", "18.00"),
		shows("#refund-lines", "选择要退的商品"), shows("#refund-lines", "龙井茶 · 可退 18.00"), shows("#refund-lines", "小笼包 · 可退 56.00"),
		until(`document.querySelector("#refund-line-1") !== null && document.querySelector("#refund-line-2") !== null`), fitsPhone())
	b.step("the one-line order has none", b.open(orderPage), shows("#order-no", o.OrderNo), until(`document.querySelector("#refund-lines") === null`))
	b.step("refund 20.00", submit("#refund-form", map[string]string{"amount": "20.00", "reason": "少送一笼"}),
		shows("#flash", "退款已提交"), shows("#order-refunds", "20.00"))

	clk.Advance(2 * time.Minute) // WeChat's spacing between two refunds of an order
	b.step("over the limit waits", b.open(orderPage), submit("#refund-form", map[string]string{"amount": "100.50", "reason": "整单退"}),
		shows("#flash", "等待审批"), shows("#order-refunds", "待审批"))
	b.step("the refunds list", b.nav("#nav-billing-refunds", "退款"), shows("#billing-refunds", "待审批"), shows("#billing-refunds", o.OrderNo),
		byName("#billing-refunds"))
	b.step("finance signs out", b.signOut())

	b.step("the admin's to-dos", b.signIn("admin"), b.open("/todos"), shows("#todo-list", o.OrderNo))
	b.step("open the request", jsClick(`#todo-list a[href^="/todos/"]`), shows("#request-state", "待审批"))
	b.step("approve", do(`document.querySelector("#decide-comment").value = "整单退款，同意"; document.querySelector("#approve").click()`),
		shows("#flash", "已同意"), b.signOut())
	s.eventually("the approved refund reached WeChat", func() bool {
		return s.scalar(`SELECT count(*) FROM billing.refunds WHERE order_id = $1 AND state NOT IN ('pending_approval', 'requested')`, o.ID) == 2
	})

	// WeChat pays both refunds back; their notifications book them.
	rows, err := s.a.db.Query(s.ctx, `SELECT out_refund_no FROM billing.refunds WHERE order_id = $1`, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var no string
		if err := rows.Scan(&no); err != nil {
			t.Fatal(err)
		}
		s.control("/sim/refunds/settle", map[string]any{"out_refund_no": no, "status": "SUCCESS"})
	}
	rows.Close()
	s.settle()
	s.eventually("both refunds booked", func() bool { return state(o) == billing.StatePartiallyRefunded })

	st := fmt.Sprintf("/billing/statement?merchant=%s&period=%s", d.merchantID, day)
	b.step("finance opens the day's statement", b.signIn("finance"), b.nav("#nav-billing-statements", "结算单"),
		submit("#statement-open", map[string]string{"merchant": d.merchantID.String(), "period": day}),
		shows("#st-gross", "202.50"), shows("#st-refunds", "120.50"), shows("#st-state", "预览"), shows("#st-lines", o.OrderNo), shows("#st-lines", lines.OrderNo),
		shows("#st-merchant", shop), shows("#st-merchant", d.merchantID.String()))
	b.step("an adjustment", submit("#st-adjust", map[string]string{"amount": "-5.00", "reason": "物料费"}),
		shows("#flash", "调整已记录"), shows("#st-adjustments", "-5.00"), shows("#st-lines", "物料费"))
	b.step("not issued while the day is open", submit("#st-issue", nil), shows("#error", "账期尚未结束"))
	clk.Advance(24 * time.Hour)
	b.step("issued the next day", b.open(st), submit("#st-issue", nil), shows("#flash", "结算单已出"), shows("#st-state", "已出单"))
	b.step("paid with a reference", submit("#st-paid", map[string]string{"reference": "CMB-20261206-001"}),
		shows("#st-state", "已付款"), shows("#st-state", "CMB-20261206-001"))
	b.step("the Excel export", do(`fetch(document.querySelector("#st-xlsx").href).then(r => r.arrayBuffer().then(a => { window.xlsx = r.headers.get("content-type") + " " + a.byteLength }))`),
		until(`(window.xlsx || "").startsWith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet ")`))
	quiet := time.Now().In(clock.Shanghai).AddDate(0, 0, -2).Format(time.DateOnly) // a day with no trade: reconciled from our side
	b.step("reconcile a day now", b.nav("#nav-recon", "对账"), submit("#recon-start", map[string]string{"date": quiet}),
		shows("#flash", "对账完成"), shows("#page-title", quiet), shows("#recon-state", "已平账"), b.signOut())

	b.step("the owner, in English", b.lang("en"), b.signIn("shop.owner"), b.nav("#nav-billing-orders", "Orders"),
		shows("#billing-orders", o.OrderNo), until(`document.querySelector("#billing-orders input[name=merchant]") === null`))
	b.step("the owner's order", b.open(orderPage), shows("#order-state", "Partially refunded"), until(`document.querySelector("#refund-form") === null`))
	b.step("the owner's statements", b.nav("#nav-billing-statements", "Statements"), shows("#billing-statements", day),
		jsClick(`#billing-statements a[href^="/billing/statement?"]`), shows("#st-state", "Paid"), shows("#st-adjustments", "-5.00"),
		until(`document.querySelector("#st-issue, #st-paid, #st-adjust") === null`), fitsPhone())
	b.step("the owner signs out", b.signOut())
	b.step("another owner sees none of it", b.signIn("shop2.owner"), b.open("/billing/orders"), omits("#billing-orders", o.OrderNo),
		b.open(st), until(`document.querySelector("#error") !== null`), b.signOut())
	b.step("finance, in English, picks lines", b.signIn("finance"), b.open(linesPage), shows("#refund-lines", "Pick the lines to refund"),
		shows("#refund-lines", "龙井茶 · Refundable 18.00"), shows("#order-line-1", "56.00"))
	b.step("finance, in English, reads merchants by name", b.open("/billing/orders"), title("Orders"), byName("#billing-orders"),
		b.open("/billing/refunds"), byName("#billing-refunds"), b.open("/billing/statements"), byName("#billing-statements"),
		b.open(orderPage), shows("#order-merchant", shop), b.open(st), shows("#st-merchant", shop), shows("#st-merchant", d.merchantID.String()))
}

// Refund by line in Chromium, on a phone: the member pays a two-line order (100.00 of
// dumplings, 50.00 of tea); finance ticks the tea on the order's refund form and
// leaves the amounts empty, so the refund is the tea's paid 50.00; once WeChat pays it
// back the member's points drop by the tea's share (a third of what the order
// earned) and the order's page shows what was refunded of each line, in zh and en.
func TestFinanceRefundsALineInChromium(t *testing.T) {
	s := startStory(t)
	d, err := s.a.seedDemo(s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.a.billing.PlaceOrder(s.ctx, d.consumerID, billing.NewOrder{MerchantID: d.merchantID, Description: "午餐",
		Lines: []billing.NewLine{{Description: "小笼包", Category: "food", Amount: money.MustNew(10_000, money.CNY)},
			{Description: "龙井茶", Category: "drink", Amount: money.MustNew(5_000, money.CNY)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.billing.Prepay(s.ctx, d.consumerID, o.ID, billing.PayJSAPI); err != nil {
		t.Fatal(err)
	}
	before := s.balance(d.consumerID)
	s.control("/sim/pay", map[string]any{"out_trade_no": o.OrderNo})
	s.settle()
	s.eventually("the order's points credited", func() bool { return s.balance(d.consumerID) > before })
	earned := s.balance(d.consumerID) - before
	if earned%3 != 0 {
		t.Fatalf("the order earned %d points; the test wants a third of them whole", earned)
	}
	orderPage := "/billing/orders/" + o.ID.String()

	s.a.reg = prometheus.NewRegistry() // the story's API registered the HTTP metrics; the browser's server is a second router
	b := startBrowser(t, s.a, phoneWidth, phoneHeight)
	b.step("finance opens the order", b.lang("zh-CN"), b.signIn("finance"), b.open(orderPage), shows("#order-lines", "龙井茶"),
		shows("#order-line-2", "50.00"), shows("#refund-lines", "可退"), fitsPhone())
	b.step("more than is left of a line is refused", do(`document.querySelector("#refund-line-1").checked = true`),
		submit("#refund-form", map[string]string{"line_amount_1": "100.01", "reason": "多退"}), shows("#error", "超过该行可退金额"))
	b.step("refund the tea", do(`document.querySelector("#refund-line-2").checked = true`),
		submit("#refund-form", map[string]string{"reason": "茶没上"}), shows("#flash", "退款已提交"), shows("#order-refunds", "#2 50.00"))
	var no string
	if err := s.a.db.QueryRow(s.ctx, `SELECT out_refund_no FROM billing.refunds WHERE order_id = $1`, o.ID).Scan(&no); err != nil {
		t.Fatal(err)
	}
	s.control("/sim/refunds/settle", map[string]any{"out_refund_no": no, "status": "SUCCESS"})
	s.settle()
	s.eventually("the tea's points taken back", func() bool { return s.balance(d.consumerID) == before+earned-earned/3 })
	b.step("the lines refunded", b.open(orderPage), shows("#order-state", "部分退款"), shows("#order-line-2 .line-refunded", "50.00"),
		shows("#order-line-1 .line-refunded", "0.00"), omits("#refund-lines", "龙井茶"), fitsPhone(), b.signOut())
	b.step("in English", b.lang("en"), b.signIn("finance"), b.open(orderPage), shows("#order-lines", "Refunded"),
		shows("#refund-lines", "Pick the lines to refund"), shows("#order-line-2 .line-refunded", "50.00"))
	if got := s.balance(d.consumerID); got != before+earned-earned/3 {
		t.Fatalf("points %d, want %d: the tea's third of %d taken back once", got, before+earned-earned/3, earned)
	}
}
