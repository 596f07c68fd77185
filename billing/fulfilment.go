package billing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/logging"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// SubscriberFulfilment is billing's own subscriber of its payment events: a batched
// one (the dispatcher's), whose effect is all in PostgreSQL.
const SubscriberFulfilment = "billing.fulfilment"

// SubscriberWebhooks is billing's subscriber of its own webhook requests: the merchant's
// webhook call, an effect outside PostgreSQL, delivered through asynq (retries with
// backoff, re-driven when Redis loses it).
const SubscriberWebhooks = "billing.webhooks"

// TopicWebhookRequested is billing's own event, for its own subscriber only: a paid
// order of a merchant with a webhook awaits the call that fulfils it. Key: the order id.
const TopicWebhookRequested events.Topic = "billing.webhook_requested"

// webhookRequested is the payload of TopicWebhookRequested: the payment event that
// fulfilment ran, as it was.
type webhookRequested struct {
	PaymentEventID uuid.UUID               `json:"payment_event_id"`
	Payment        events.PaymentSucceeded `json:"payment"`
}

// Subscriptions are billing's event handlers: fulfilment of paid orders, in batches,
// and the webhook calls of the merchants that have one, one order at a time.
func (s *Service) Subscriptions() []outbox.Subscription {
	return []outbox.Subscription{
		{Topic: events.TopicPaymentSucceeded, Subscriber: SubscriberFulfilment, HandleBatchTx: s.fulfilBatch},
		{Topic: TopicWebhookRequested, Subscriber: SubscriberWebhooks, Handle: s.callRequestedWebhook},
	}
}

// fulfilBatch fulfils a batch of paid orders in the dispatcher's transaction: the orders
// of merchants without a webhook (most of them) by one statement, and for each of the
// others it publishes a webhook request, whose delivery calls the merchant and then
// fulfils the order. Both commit with the batch's deliveries, so each happens once; the
// webhook's call was an asynq task per payment event before, with its delivery row's
// take and close around a statement that most of the time only set fulfilled_at.
func (s *Service) fulfilBatch(ctx context.Context, tx pgx.Tx, es []events.Envelope) error {
	q := billingdb.New(tx)
	hooked := map[uuid.UUID]bool{} // by merchant: has a webhook
	var plain []uuid.UUID
	for _, e := range es {
		var p events.PaymentSucceeded
		if err := e.Decode(&p); err != nil {
			return fmt.Errorf("billing: decode %s: %w", e.Topic, err)
		}
		if p.MerchantID == uuid.Nil || p.OrderNo == "" { // an event of an older build
			o, err := q.GetOrder(ctx, p.OrderID)
			if errors.Is(err, pgx.ErrNoRows) {
				return errs.NotFound(objOrder)
			} else if err != nil {
				return wrap("get order", err)
			}
			if o.FulfilledAt != nil {
				continue
			}
			p.MerchantID, p.OrderNo = o.MerchantID, o.OrderNo
		}
		hook, ok := hooked[p.MerchantID]
		if !ok {
			terms, err := s.ports.Merchants.Terms(ctx, p.MerchantID)
			if err != nil {
				return err
			}
			hook = terms.WebhookURL != ""
			hooked[p.MerchantID] = hook
		}
		if !hook {
			plain = append(plain, p.OrderID)
			continue
		}
		if _, err := outbox.Publish(logging.WithRequestID(ctx, e.RequestID), tx, TopicWebhookRequested, p.OrderID.String(),
			webhookRequested{PaymentEventID: e.ID, Payment: p}); err != nil {
			return err
		}
	}
	if len(plain) == 0 {
		return nil
	}
	return wrap("fulfil", q.SetFulfilledOrders(ctx, billingdb.SetFulfilledOrdersParams{Ids: plain, FulfilledAt: ptr(s.now())}))
}

// callRequestedWebhook handles a webhook request: it fulfils the payment as Fulfil does,
// the attempts recorded under the payment event's id.
func (s *Service) callRequestedWebhook(ctx context.Context, e events.Envelope) error {
	var r webhookRequested
	if err := e.Decode(&r); err != nil {
		return fmt.Errorf("billing: decode %s: %w", e.Topic, err)
	}
	return s.fulfil(ctx, r.PaymentEventID, r.Payment)
}

// WebhookPayload is the body of the merchant's webhook call.
type WebhookPayload struct {
	EventID       uuid.UUID   `json:"event_id"` // the webhook-id header: WebhookID(order)
	Type          string      `json:"type"`     // "payment.succeeded"
	OrderID       uuid.UUID   `json:"order_id"`
	OrderNo       string      `json:"order_no"`
	MerchantID    uuid.UUID   `json:"merchant_id"`
	Amount        money.Money `json:"amount"`
	TransactionID string      `json:"transaction_id"`
	PaidAt        time.Time   `json:"paid_at"`
}

// webhookNamespace makes webhook ids (UUIDv5) that depend only on what happened.
var webhookNamespace = uuid.MustParse("6f1d3c2e-9a57-4c1b-8e0f-3a2b1c4d5e6f")

// WebhookID is the id of the webhook telling an order's payment: derived from the order,
// so every attempt, every retry, a re-drive and a repair by reconciliation (which may
// publish the payment event again) carry the same id, and the merchant can drop repeats.
func WebhookID(orderID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(webhookNamespace, []byte("payment.succeeded/"+orderID.String()))
}

// webhookTimeout bounds one webhook call.
const webhookTimeout = 10 * time.Second

// webhookInFlight is how long an unfinished attempt holds off another: the client's
// time-out and a margin. A worker killed mid-call leaves its attempt unfinished; the
// next try waits this long rather than calling the merchant twice at once.
const webhookInFlight = webhookTimeout + 5*time.Second

// errFulfilled says the order was fulfilled meanwhile: nothing to call.
var errFulfilled = errors.New("billing: already fulfilled")

// Fulfil fulfils the order of one payment event at once: it calls the merchant's
// webhook (Standard Webhooks signature), with every attempt recorded before the call and
// its outcome after, and marks the order fulfilled once the merchant answers 2xx; a
// merchant without a webhook has it marked fulfilled. A failure returns an error, for
// the caller to retry (asynq, with backoff, for a webhook request); an order already
// fulfilled is not called again. The worker comes here through fulfilBatch's webhook
// requests.
func (s *Service) Fulfil(ctx context.Context, e events.Envelope) error {
	var p events.PaymentSucceeded
	if err := e.Decode(&p); err != nil {
		return fmt.Errorf("billing: decode %s: %w", e.Topic, err)
	}
	return s.fulfil(ctx, e.ID, p)
}

// fulfil is Fulfil of a decoded payment event, eventID its id.
func (s *Service) fulfil(ctx context.Context, eventID uuid.UUID, p events.PaymentSucceeded) error {
	q := billingdb.New(s.db)
	// The event names the order's merchant and number, so the order is read only for an
	// event that does not: a merchant without a webhook is fulfilled by one statement
	// (which does nothing to an order fulfilled before), and a webhook's attempt checks
	// under the order's lock that it is not fulfilled yet (beginWebhookAttempt).
	o := billingdb.BillingOrder{ID: p.OrderID, OrderNo: p.OrderNo, MerchantID: p.MerchantID}
	if o.MerchantID == uuid.Nil || o.OrderNo == "" {
		var err error
		if o, err = s.getOrder(ctx, p.OrderID); err != nil {
			return err
		}
		if o.FulfilledAt != nil {
			return nil
		}
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
	webhookID := WebhookID(o.ID)
	body, err := json.Marshal(WebhookPayload{EventID: webhookID, Type: "payment.succeeded", OrderID: o.ID, OrderNo: o.OrderNo,
		MerchantID: o.MerchantID, Amount: amount, TransactionID: p.TransactionID, PaidAt: p.PaidAt})
	if err != nil {
		return err
	}
	attempt, err := s.beginWebhookAttempt(ctx, o.ID, eventID, webhookID, terms.WebhookURL)
	if errors.Is(err, errFulfilled) {
		return nil
	}
	if err != nil {
		return err
	}
	start := s.now()
	status, callErr := s.callWebhook(ctx, terms, webhookID, body)
	end := s.now()
	f := billingdb.FinishWebhookAttemptParams{ID: attempt.ID, StatusCode: pgtype.Int4{Int32: int32(status), Valid: true},
		DurationMs: pgtype.Int4{Int32: int32(end.Sub(start).Milliseconds()), Valid: true}, FinishedAt: &end}
	if callErr != nil {
		f.Error = callErr.Error()
	}
	if err := q.FinishWebhookAttempt(context.WithoutCancel(ctx), f); err != nil {
		return wrap("record webhook attempt", err)
	}
	if callErr != nil {
		return fmt.Errorf("billing: webhook of order %s, attempt %d: %w", o.OrderNo, attempt.Attempt, callErr)
	}
	return wrap("fulfil", q.SetFulfilled(ctx, billingdb.SetFulfilledParams{ID: o.ID, FulfilledAt: ptr(s.now())}))
}

// beginWebhookAttempt records the next attempt of an order's webhook, under the order's
// row lock, and commits it before the call is made. It refuses while another attempt
// is in flight (a duplicate task, a re-drive crossing a retry) so that the merchant is
// not called twice at once, and returns errFulfilled when there is nothing left to do.
func (s *Service) beginWebhookAttempt(ctx context.Context, orderID, eventID, webhookID uuid.UUID, url string) (billingdb.InsertWebhookAttemptParams, error) {
	a := billingdb.InsertWebhookAttemptParams{ID: s.newID(), OrderID: orderID, EventID: eventID,
		WebhookID: ptr(webhookID.String()), Url: url, CreatedAt: s.now()}
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := billingdb.New(tx)
		o, err := q.LockOrder(ctx, orderID)
		if err != nil {
			return err
		}
		if o.FulfilledAt != nil {
			return errFulfilled
		}
		last, err := q.LastWebhookAttempt(ctx, orderID)
		if err != nil {
			return err
		}
		if last.UnfinishedSince.After(a.CreatedAt.Add(-webhookInFlight)) {
			return fmt.Errorf("billing: webhook of order %s: attempt %d in flight since %s; retry later",
				o.OrderNo, last.Attempts, last.UnfinishedSince.Format(time.RFC3339))
		}
		a.Attempt = last.Attempts + 1
		return q.InsertWebhookAttempt(ctx, a)
	})
	if errors.Is(err, errFulfilled) {
		return a, err
	}
	return a, wrap("record webhook attempt", err)
}

func (s *Service) callWebhook(ctx context.Context, t Terms, webhookID uuid.UUID, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
		return 0, fmt.Errorf("webhook URL scheme %q: want https or http", req.URL.Scheme)
	}
	req.Header.Set("Content-Type", "application/json")
	SignRequest(req.Header, t.WebhookSecret, webhookID.String(), s.now(), body)
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
	WebhookID  string    `json:"webhook_id,omitempty"` // the webhook-id header (empty on old rows)
	URL        string    `json:"url"`
	StatusCode int       `json:"status_code"` // 0: no answer, or the call has not ended
	Error      string    `json:"error,omitempty"`
	At         time.Time `json:"at"`
	Finished   bool      `json:"finished"` // false: under way, or cut off by a crash
}

func (s *Service) deliveries(ctx context.Context, orderID uuid.UUID) ([]Delivery, error) {
	rows, err := billingdb.New(s.db).ListDeliveries(ctx, orderID)
	if err != nil {
		return nil, wrap("deliveries", err)
	}
	out := make([]Delivery, len(rows))
	for i, r := range rows {
		out[i] = Delivery{Attempt: int(r.Attempt), URL: r.Url, StatusCode: int(r.StatusCode.Int32), Error: r.Error,
			At: r.CreatedAt, Finished: r.FinishedAt != nil || r.WebhookID == nil}
		if r.WebhookID != nil {
			out[i].WebhookID = *r.WebhookID
		}
	}
	return out, nil
}
