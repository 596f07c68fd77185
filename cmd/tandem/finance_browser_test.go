package main

import (
	"context"
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/reconciliation"
)

// The exceptions queue in Chromium: finance finds a reconciliation exception in the
// queue, assigns it to themselves, writes a note and resolves it; a merchant owner
// has no queue in the menu and is refused it.
func TestFinanceQueueInChromium(t *testing.T) {
	a := testApp(t)
	ctx0 := context.Background()
	if _, err := a.seedDemo(ctx0); err != nil {
		t.Fatal(err)
	}
	// A day whose bill has a payment we do not: one queue item.
	bill := "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额," +
		"微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n" +
		"`2025-03-14 09:00:00,`wxd678efh567hg6787,`1900000109,`0,`,`4200000042,`TDQUEUE42,`oUser,`JSAPI,`SUCCESS,`OTHERS,`CNY,`42.00,`0.00," +
		"`0,`0,`0.00,`0.00,`,`,`Tandem,`,`0.25000,`0.60%,`42.00,`0.00,`\n" +
		"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n`1,`42.00,`0.00,`0.00,`0.25000,`42.00,`0.00\n"
	if _, err := a.recon.RunFile(ctx0, "1900000109", "2025-03-14", strings.NewReader(bill), reconciliation.Records{}); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, phoneWidth, phoneHeight) // finance on the phone layout too

	b.step("finance signs in", b.signIn("finance"))
	b.step("the queue is in the menu", until(`document.querySelector("#nav-recon-queue") !== null`))
	b.step("the queue lists the exception", b.open("/recon/queue"),
		until(text("#recon-queue")+`.includes("TDQUEUE42") && `+text("#recon-queue")+`.includes("missing_ours")`))
	b.step("its page", until(`(a => a ? (a.click(), true) : false)([...document.querySelectorAll("#recon-queue a")].find(a => a.href.includes("/recon/queue/")))`),
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
