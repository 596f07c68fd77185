package billing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/money"
)

// DemoDescription names the demo's one-line order; DemoLinesDescription its two-line
// order, on whose page finance can refund by line.
const (
	DemoDescription      = "演示订单 小笼包两笼"
	DemoLinesDescription = "演示订单 午餐"
)

// DemoOrders are the demo consumer's paid orders at the demo merchant.
type DemoOrders struct {
	Order Order // 128.50, one line
	Lines Order // 74.00 in two lines: 小笼包 56.00 (food) and 龙井茶 18.00 (drink)
}

// demoOrders are what Demo places, in this order.
func demoOrders(merchantID uuid.UUID) []NewOrder {
	return []NewOrder{
		{MerchantID: merchantID, Description: DemoDescription, Amount: money.MustNew(12_850, money.CNY)},
		{MerchantID: merchantID, Description: DemoLinesDescription, Lines: []NewLine{
			{Description: "小笼包", Category: "food", Amount: money.MustNew(5_600, money.CNY)},
			{Description: "龙井茶", Category: "drink", Amount: money.MustNew(1_800, money.CNY)},
		}},
	}
}

// Demo has the consumer (a member) order 128.50 and a two-line 74.00 at the merchant
// (live), prepay each (JSAPI) and pay it on the WeChat Pay simulator whose control API
// is at simURL; the simulator's notification then reaches the notify endpoint,
// whenever the server is up (it retries). Idempotent: an order the consumer already
// has (past created) at the merchant is given back, not placed again.
func Demo(ctx context.Context, s *Service, consumerID, merchantID uuid.UUID, simURL string) (DemoOrders, error) {
	mine, err := s.MyOrders(ctx, consumerID, uuid.Nil, 200)
	if err != nil {
		return DemoOrders{}, err
	}
	var got []Order
	for _, n := range demoOrders(merchantID) {
		o, err := demoOrder(ctx, s, consumerID, mine, n, simURL)
		if err != nil {
			return DemoOrders{}, err
		}
		got = append(got, o)
	}
	return DemoOrders{Order: got[0], Lines: got[1]}, nil
}

// demoOrder places and pays one demo order, or gives back the one of mine already past created.
func demoOrder(ctx context.Context, s *Service, consumerID uuid.UUID, mine []Order, n NewOrder, simURL string) (Order, error) {
	for _, o := range mine {
		if o.MerchantID == n.MerchantID && o.Description == n.Description && o.State != StateCreated {
			return o, nil
		}
	}
	o, err := s.PlaceOrder(ctx, consumerID, n)
	if err != nil {
		return Order{}, err
	}
	if _, err := s.Prepay(ctx, consumerID, o.ID, PayJSAPI); err != nil {
		return Order{}, err
	}
	body, err := json.Marshal(map[string]string{"out_trade_no": o.OrderNo})
	if err != nil {
		return Order{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, simURL+"/sim/pay", bytes.NewReader(body))
	if err != nil {
		return Order{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Order{}, fmt.Errorf("billing demo: pay on the simulator: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return Order{}, fmt.Errorf("billing demo: the simulator answered %d to /sim/pay", resp.StatusCode)
	}
	return s.MyOrder(ctx, consumerID, o.ID)
}
