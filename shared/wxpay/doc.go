// Package wxpay is the one place Tandem talks to WeChat Pay APIv3.
//
// Every request is signed and every response and notification is verified by
// wechatpay-go's own code (github.com/wechatpay-apiv3/wechatpay-go v0.2.21); this
// package adds what the SDK lacks (the trade and fund-flow bill download with its
// SHA1 check, a refund-notification model, panic-safe notification parsing), maps
// WeChat's error codes to errs kinds callers can act on, retries only calls that
// are idempotent, and parses WeChat's bill files.
//
// The protocol facts this package relies on, with their sources, are in
// shared/shared/wxpay/WECHATPAY.md of the design documents; the simulator in wxsim follows the
// same document, never this package.
//
// Money is integer fen (int64) everywhere. Bill fees, which WeChat prints with five
// decimals, are held in milli-fen (1/1000 fen = 0.00001 yuan) so nothing is rounded
// while parsing.
package wxpay
