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

// DemoDescription names the demo order.
const DemoDescription = "演示订单 小笼包两笼"

// Demo has the consumer (a member) order 128.50 at the merchant (live), prepay it
// (JSAPI) and pay it on the WeChat Pay simulator whose control API is at simURL;
// the simulator's notification then reaches the notify endpoint, whenever the
// server is up (it retries). Idempotent: a consumer who already has the demo order
// at the merchant gets it back.
func Demo(ctx context.Context, s *Service, consumerID, merchantID uuid.UUID, simURL string) (Order, error) {
	mine, err := s.MyOrders(ctx, consumerID, uuid.Nil, 200)
	if err != nil {
		return Order{}, err
	}
	for _, o := range mine {
		if o.MerchantID == merchantID && o.Description == DemoDescription && o.State != StateCreated {
			return o, nil
		}
	}
	o, err := s.PlaceOrder(ctx, consumerID, NewOrder{MerchantID: merchantID, Description: DemoDescription,
		Amount: money.MustNew(12_850, money.CNY)})
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
