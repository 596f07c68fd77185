// Package wxsim is a stand-in for WeChat Pay's merchant API v3, faithful enough
// that Tandem's tests and demo exercise every real code path of the real
// wechatpay-go client: it plays WeChat, holding the platform private key and the
// WeChat Pay public-key-mode key, verifies every merchant request, signs every
// answer, encrypts and delivers notifications on WeChat's retry schedule, and
// writes trade and fund-flow bills from its own durable record (schema wxsim).
//
// It follows shared/shared/wxpay/WECHATPAY.md of the design documents, never Tandem's client:
// the client and the simulator meet only on the wire. (It imports wxpay for the
// Account type it hands to `tandem dev`, and for nothing else.)
//
// A control API under /sim/ (off unless enabled) lets tests and the demo pay
// orders, move the clock, refund or close from WeChat's side and inject faults
// into notification delivery and API answers.
package wxsim
