package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/money"
)

// The exceptions queue in Chromium: finance finds a reconciliation exception in the
// queue, assigns it to themselves, writes a note and resolves it; a merchant owner
// has no queue in the menu and is refused it.
func TestFinanceQueueInChromium(t *testing.T) {
	a := testApp(t)
	ctx0 := context.Background()
	d, err := a.seedDemo(ctx0)
	if err != nil {
		t.Fatal(err)
	}
	// A day whose bill has a payment we do not: one queue item.
	bill := tradeBill("2025-03-14 09:00:00", "4200000042", "TDQUEUE42", "42.00")
	if _, err := a.recon.RunFile(ctx0, "1900000109", "2025-03-14", strings.NewReader(bill), reconciliation.Records{}); err != nil {
		t.Fatal(err)
	}
	// A day whose bill has the demo's order at another amount than ours: an item about
	// our order, its merchant named as billing's lists name it.
	order, err := a.billing.PlaceOrder(ctx0, d.consumerID, billing.NewOrder{MerchantID: d.merchantID, Description: "queue",
		Amount: money.MustNew(1300, money.CNY)})
	if err != nil {
		t.Fatal(err)
	}
	paid, _ := time.ParseInLocation(time.DateTime, "2025-03-13 09:00:00", clock.Shanghai)
	ours := reconciliation.Records{{Kind: reconciliation.KindPay, OutTradeNo: order.OrderNo, TransactionID: "4200000043", AmountFen: 1300,
		Status: reconciliation.StatusSuccess, At: paid}}
	if _, err := a.recon.RunFile(ctx0, "1900000109", "2025-03-13", strings.NewReader(tradeBill("2025-03-13 09:00:00", "4200000043", order.OrderNo, "14.00")),
		ours); err != nil {
		t.Fatal(err)
	}
	const shop = "南翔小笼 Nanxiang Xiaolongbao"
	merchantCell := fmt.Sprintf(`(r => !!r && !!r.querySelector('td[title="%s"]') && r.querySelector('td[title="%s"]').innerText === %q)([...document.querySelectorAll("#recon-queue tr")].find(r => r.innerText.includes(%q)))`,
		d.merchantID, d.merchantID, shop, order.OrderNo)
	b := startBrowser(t, a, phoneWidth, phoneHeight) // finance on the phone layout too

	b.step("finance signs in", b.signIn("finance"))
	b.step("the queue is in the menu", until(`document.querySelector("#nav-recon-queue") !== null`))
	b.step("the queue lists the exception", b.open("/recon/queue"),
		until(text("#recon-queue")+`.includes("TDQUEUE42") && `+text("#recon-queue")+`.includes("missing_ours")`))
	b.step("the item about our order names its merchant, its id on hover", until(merchantCell), omits("#recon-queue", d.merchantID.String()[:8]))
	b.step("and in English", b.open("/lang/en?back=/recon/queue"), until(text("#recon-queue")+`.includes("Merchant")`), until(merchantCell),
		b.open("/lang/zh-CN?back=/recon/queue"), until(text("#recon-queue")+`.includes("商户订单号")`), until(merchantCell))
	b.step("its page", until(`(a => a ? (a.click(), true) : false)([...document.querySelectorAll("#recon-queue tr")].find(r => r.innerText.includes("TDQUEUE42"))?.querySelector("a"))`),
		until(text("#item-order")+` === "TDQUEUE42"`))
	b.step("assign to me", submit("#item-assign", nil), until(text("#item-assignee")+` === "我"`))
	b.step("a note", submit("#item-note", map[string]string{"note": "问过商户，补单中"}), until(text("#item-notes")+`.includes("问过商户，补单中")`))
	b.step("resolve", submit("#item-resolve", map[string]string{"resolution": "手工补单 118 号"}),
		until(text("#item-state")+` === "已解决" && `+text("#item-resolution")+` === "手工补单 118 号"`))
	b.step("no longer open", b.open("/recon/queue"), until(`document.readyState === "complete" && !`+text("#recon-queue")+`.includes("TDQUEUE42")`))
	b.step("sign out", b.signOut())

	b.step("a merchant owner signs in", b.signIn("shop.owner"))
	b.step("no queue in the owner's menu", until(`document.querySelector("#page-title") !== null && document.querySelector("#nav-recon-queue") === null`))
	b.step("the owner is refused the queue", b.open("/recon/queue"), until(`document.querySelector("#error") !== null`))
}

// tradeBill is an ALL trade bill of one successful payment (amount in yuan).
func tradeBill(at, txn, orderNo, amount string) string {
	return "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额," +
		"微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n" +
		"`" + at + ",`wxd678efh567hg6787,`1900000109,`0,`,`" + txn + ",`" + orderNo + ",`oUser,`JSAPI,`SUCCESS,`OTHERS,`CNY,`" + amount + ",`0.00," +
		"`0,`0,`0.00,`0.00,`,`,`Tandem,`,`0.25000,`0.60%,`" + amount + ",`0.00,`\n" +
		"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n`1,`" + amount + ",`0.00,`0.00,`0.25000,`" + amount + ",`0.00\n"
}

// Finance in English in Chromium, on a desktop: a transaction billed again on a later
// day's bill is a duplicate there ("already billed on" the first day), and the
// fund-flow run of that day lists its exceptions on its page and in the queue, named
// as fund-flow items.
func TestFinanceFundFlowAndCrossDayInChromium(t *testing.T) {
	a := testApp(t)
	ctx := context.Background()
	if _, err := a.seedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	// Ours: TDCROSS7 paid on the 14th (no fee booked yet).
	at, _ := time.ParseInLocation(time.DateTime, "2025-03-14 10:00:00", clock.Shanghai)
	ours := reconciliation.Records{{Kind: reconciliation.KindPay, OutTradeNo: "TDCROSS7", TransactionID: "4200000077", AmountFen: 7_700,
		Status: reconciliation.StatusSuccess, At: at}}
	// The 15th's trade bill has it again.
	if _, err := a.recon.RunFile(ctx, "1900000109", "2025-03-15", strings.NewReader(tradeBill("2025-03-15 09:00:00", "4200000077", "TDCROSS7", "77.00")), ours); err != nil {
		t.Fatal(err)
	}
	// The 15th's fund flow: TDCROSS7's income (ours), its fee (none booked), and a payment not ours.
	flow := "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号\n" +
		"`2025-03-15 09:00:00,`4200000077,`F1,`交易,`交易,`收入,`77.00,`1077.00,`system,`,`TDCROSS7\n" +
		"`2025-03-15 09:00:00,`4200000077,`F2,`扣除交易手续费,`扣除交易手续费,`支出,`0.46,`1076.54,`system,`,`TDCROSS7\n" +
		"`2025-03-15 10:00:00,`4200000088,`F3,`交易,`交易,`收入,`88.00,`1164.54,`system,`,`TDFLOW88\n" +
		"资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\n`3,`2,`165.00,`1,`0.46\n"
	if _, err := a.recon.RunFundFlowFile(ctx, "1900000109", "2025-03-15", strings.NewReader(flow), ours); err != nil {
		t.Fatal(err)
	}

	b := startBrowser(t, a, desktopWidth, desktopHeight)
	b.step("finance signs in, in English", b.lang("en"), b.signIn("finance"), b.nav("#nav-recon", "Reconciliation"))
	b.step("both runs of the 15th", shows("#recon-list", "Fund-flow bill"), shows("#recon-list", "Trade bill (all)"))
	b.step("the trade run: a duplicate from the 14th", b.open("/recon/queue"),
		until(`(a => a ? (a.click(), true) : false)([...document.querySelectorAll("#recon-queue tr")].find(r => r.innerText.includes("duplicate") && r.innerText.includes("TDCROSS7"))?.querySelector("a"))`),
		shows("#item-order", "TDCROSS7"), shows("#item-summary", "already billed on 2025-03-14"), shows("#item-bill-type", "Trade bill (all)"))
	b.step("the fund-flow items in the queue", b.open("/recon/queue"), shows("#recon-queue", "TDFLOW88"),
		until(`[...document.querySelectorAll("#recon-queue tr")].filter(r => r.innerText.includes("Fund-flow bill")).length === 2`))
	b.step("a fund-flow item's page", until(`(a => a ? (a.click(), true) : false)([...document.querySelectorAll("#recon-queue tr")].find(r => r.innerText.includes("TDFLOW88"))?.querySelector("a"))`),
		shows("#item-bill-type", "Fund-flow bill"), shows("#item-state", "Open"), shows("#item-summary", "交易"))
	b.step("assign and resolve it", submit("#item-assign", nil), shows("#item-assignee", "me"),
		submit("#item-resolve", map[string]string{"resolution": "another account's payment"}), shows("#item-resolution", "another account's payment"))
	b.step("the fund-flow run's page", b.open("/recon"),
		until(`(a => a ? (a.click(), true) : false)([...document.querySelectorAll("#recon-list tr")].find(r => r.innerText.includes("Fund-flow bill"))?.querySelector("a"))`),
		shows("#recon-state", "Unbalanced"), shows("#recon-exceptions", "TDFLOW88"), shows("#recon-exceptions", "none booked"))
}
