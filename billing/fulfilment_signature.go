package billing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook headers, as Standard Webhooks (standardwebhooks.com) names them.
const (
	HeaderWebhookID        = "webhook-id"        // WebhookID(order): the same on every attempt
	HeaderWebhookTimestamp = "webhook-timestamp" // unix seconds of this attempt
	HeaderWebhookSignature = "webhook-signature" // "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>"
)

// WebhookTolerance is how far a webhook's timestamp may be from the receiver's clock
// (the Standard Webhooks libraries' default): older calls are refused as replays.
const WebhookTolerance = 5 * time.Minute

// webhookKey is the HMAC key of a merchant's secret: a Standard Webhooks secret
// ("whsec_" and base64) is decoded, any other secret is used as it is (the libraries take
// it as "whsec_" + base64(secret)).
func webhookKey(secret string) []byte {
	if b64, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if key, err := base64.StdEncoding.DecodeString(b64); err == nil {
			return key
		}
	}
	return []byte(secret)
}

// Sign is the webhook-signature value of a webhook with this id, sent at t, with body.
func Sign(secret, id string, t time.Time, body []byte) string {
	mac := hmac.New(sha256.New, webhookKey(secret))
	mac.Write([]byte(id + "." + strconv.FormatInt(t.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SignRequest sets the three Standard Webhooks headers on h.
func SignRequest(h http.Header, secret, id string, t time.Time, body []byte) {
	h.Set(HeaderWebhookID, id)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(t.Unix(), 10))
	h.Set(HeaderWebhookSignature, Sign(secret, id, t, body))
}

// ErrWebhookSignature is VerifyWebhook's error for a call that is not ours.
var ErrWebhookSignature = errors.New("webhook signature does not verify")

// VerifyWebhook checks a received webhook as a merchant does: the timestamp within
// WebhookTolerance of now and one of the space-separated signatures matching.
func VerifyWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp)
	unix, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil {
		return fmt.Errorf("%w: missing webhook-id or webhook-timestamp", ErrWebhookSignature)
	}
	at := time.Unix(unix, 0)
	if at.Before(now.Add(-WebhookTolerance)) || at.After(now.Add(WebhookTolerance)) {
		return fmt.Errorf("%w: timestamp %s too far from now", ErrWebhookSignature, at.UTC().Format(time.RFC3339))
	}
	want := Sign(secret, id, at, body)
	for sig := range strings.FieldsSeq(h.Get(HeaderWebhookSignature)) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return ErrWebhookSignature
}
