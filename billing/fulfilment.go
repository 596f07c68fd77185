package billing

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// SubscriberFulfilment is billing's own subscriber of its payment events.
const SubscriberFulfilment = "billing.fulfilment"

// Webhook headers.
const (
	HeaderSignature = "X-Tandem-Signature" // "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>"
	HeaderEventID   = "X-Tandem-Event-Id"
)

// Subscriptions are billing's event handlers: fulfilment of paid orders.
func (s *Service) Subscriptions() []outbox.Subscription {
	return []outbox.Subscription{
		{Topic: events.TopicPaymentSucceeded, Subscriber: SubscriberFulfilment, Handle: s.Fulfil},
	}
}

// WebhookPayload is the body of the merchant's webhook call.
type WebhookPayload struct {
	EventID       uuid.UUID   `json:"event_id"`
	Type          string      `json:"type"` // "payment.succeeded"
	OrderID       uuid.UUID   `json:"order_id"`
	OrderNo       string      `json:"order_no"`
	MerchantID    uuid.UUID   `json:"merchant_id"`
	Amount        money.Money `json:"amount"`
	TransactionID string      `json:"transaction_id"`
	PaidAt        time.Time   `json:"paid_at"`
}

// Sign is the signature header value of body at t under secret.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Fulfil handles a payment event: it calls the merchant's webhook (signed), records
// every attempt in webhook_deliveries, and marks the order fulfilled once the
// merchant answers 2xx. A failure returns an error, so asynq retries with backoff;
// an order already fulfilled is not called again.
func (s *Service) Fulfil(ctx context.Context, e events.Envelope) error {
	var p events.PaymentSucceeded
	if err := e.Decode(&p); err != nil {
		return fmt.Errorf("billing: decode %s: %w", e.Topic, err)
	}
	q := billingdb.New(s.db)
	o, err := s.getOrder(ctx, p.OrderID)
	if err != nil {
		return err
	}
	if o.FulfilledAt != nil {
		return nil
	}
	terms, err := s.ports.Merchants.Terms(ctx, o.MerchantID)
	if err != nil {
		return err
	}
	if terms.WebhookURL == "" {
		return wrap("fulfil", q.SetFulfilled(ctx, billingdb.SetFulfilledParams{ID: o.ID, FulfilledAt: ptr(s.now())}))
	}
	amount, err := money.New(p.AmountFen, money.Currency(p.Currency))
	if err != nil {
		return err
	}
	body, err := json.Marshal(WebhookPayload{EventID: e.ID, Type: "payment.succeeded", OrderID: o.ID, OrderNo: o.OrderNo,
		MerchantID: o.MerchantID, Amount: amount, TransactionID: p.TransactionID, PaidAt: p.PaidAt})
	if err != nil {
		return err
	}
	attempt, err := q.CountDeliveries(ctx, billingdb.CountDeliveriesParams{OrderID: o.ID, EventID: e.ID})
	if err != nil {
		return wrap("fulfil", err)
	}
	start := s.now()
	status, callErr := s.callWebhook(ctx, terms, e.ID, body)
	d := billingdb.InsertDeliveryParams{ID: s.newID(), OrderID: o.ID, EventID: e.ID, Attempt: attempt + 1, Url: terms.WebhookURL,
		StatusCode: int32(status), DurationMs: int32(s.now().Sub(start).Milliseconds()), CreatedAt: start}
	if callErr != nil {
		d.Error = callErr.Error()
	}
	if err := q.InsertDelivery(ctx, d); err != nil {
		return wrap("record webhook delivery", err)
	}
	if callErr != nil {
		return fmt.Errorf("billing: webhook of order %s, attempt %d: %w", o.OrderNo, d.Attempt, callErr)
	}
	return wrap("fulfil", q.SetFulfilled(ctx, billingdb.SetFulfilledParams{ID: o.ID, FulfilledAt: ptr(s.now())}))
}

func (s *Service) callWebhook(ctx context.Context, t Terms, eventID uuid.UUID, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderEventID, eventID.String())
	req.Header.Set(HeaderSignature, Sign(t.WebhookSecret, s.now(), body))
	resp, err := s.cfg.Webhooks.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("merchant answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

func ptr[T any](v T) *T { return &v }

// Delivery is one recorded webhook attempt.
type Delivery struct {
	Attempt    int       `json:"attempt"`
	URL        string    `json:"url"`
	StatusCode int       `json:"status_code"`
	Error      string    `json:"error,omitempty"`
	At         time.Time `json:"at"`
}

func (s *Service) deliveries(ctx context.Context, orderID uuid.UUID) ([]Delivery, error) {
	rows, err := billingdb.New(s.db).ListDeliveries(ctx, orderID)
	if err != nil {
		return nil, wrap("deliveries", err)
	}
	out := make([]Delivery, len(rows))
	for i, r := range rows {
		out[i] = Delivery{Attempt: int(r.Attempt), URL: r.Url, StatusCode: int(r.StatusCode), Error: r.Error, At: r.CreatedAt}
	}
	return out, nil
}
