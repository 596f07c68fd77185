package wxpay

import "time"

// TradeBillType selects the lines of a trade bill (shared/wxpay/WECHATPAY.md d, e).
type TradeBillType string

const (
	TradeBillAll     TradeBillType = "ALL"     // payments and refunds
	TradeBillSuccess TradeBillType = "SUCCESS" // payments only
	TradeBillRefund  TradeBillType = "REFUND"  // refunds only
)

// FundAccount selects the account of a fund-flow bill.
type FundAccount string

const (
	FundAccountBasic     FundAccount = "BASIC"     // 基本账户, the default
	FundAccountOperation FundAccount = "OPERATION" // 运营账户
	FundAccountFees      FundAccount = "FEES"      // 手续费账户
)

// Shanghai is WeChat's business time zone: bill days run from 00:00:00 to
// 23:59:59 here. China has had no daylight saving since 1991, so a fixed offset is
// exact and needs no tzdata on the machine.
var Shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

// BillDateLayout is the format of bill_date.
const BillDateLayout = "2006-01-02"
