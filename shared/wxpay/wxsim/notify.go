package wxsim

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// retrySchedule is WeChat's notification retry schedule: "15s/15s/30s/3m/10m/20m/
// 30m/30m/30m/60m/3h/3h/3h/6h/6h — 总计 24h4m" (shared/wxpay/WECHATPAY.md c; the text comes from
// the v2 payment and refund pages, the v3 excerpt stops before it: disagreement 7).
var retrySchedule = []time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute, 10 * time.Minute,
	20 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 60 * time.Minute,
	3 * time.Hour, 3 * time.Hour, 3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// notice is one notification to deliver.
type notice struct {
	ID             string
	EventType      string
	Summary        string
	OriginalType   string
	AssociatedData string
	OutTradeNo     string
	OutRefundNo    string
	URL            string
	Plaintext      any
	CreateTime     time.Time
	Delay          time.Duration // between the event and the notification (scaled for delivery)
}

// paymentNotice is TRANSACTION.SUCCESS ("只有支付成功才会通知"). Real payment
// notifications carry original_type = associated_data = "transaction".
func paymentNotice(o *order, delay time.Duration) *notice {
	return &notice{
		ID: uuid.NewString(), EventType: "TRANSACTION.SUCCESS", Summary: "支付成功",
		OriginalType: "transaction", AssociatedData: "transaction", OutTradeNo: o.OutTradeNo,
		URL: o.NotifyURL, Plaintext: transactionJSON(o), CreateTime: o.SuccessTime.Add(delay), Delay: delay,
	}
}

// refundPlain is the decrypted refund resource (shared/wxpay/WECHATPAY.md c).
type refundPlain struct {
	MchID               string `json:"mchid"`
	TransactionID       string `json:"transaction_id"`
	OutTradeNo          string `json:"out_trade_no"`
	RefundID            string `json:"refund_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time,omitempty"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

var refundSummaries = map[string]string{"SUCCESS": "退款成功", "CLOSED": "退款关闭", "ABNORMAL": "退款异常"}

// refundNotice is REFUND.SUCCESS/CLOSED/ABNORMAL. associated_data of a real
// refund notification is not confirmed by any source (disagreement 6: the docs
// show "", captures of payments show the original type); the simulator sends
// "refund", and the receiving side must use whatever the body carries.
func refundNotice(r *refund, o *order) *notice {
	p := refundPlain{
		MchID: r.MchID, TransactionID: r.TransactionID, OutTradeNo: o.OutTradeNo, RefundID: r.RefundID,
		OutRefundNo: r.OutRefundNo, RefundStatus: r.Status, UserReceivedAccount: r.UserReceivedAccount,
	}
	at := r.CreatedAt
	if r.SuccessTime != nil {
		p.SuccessTime, at = rfc3339(*r.SuccessTime), *r.SuccessTime
	}
	p.Amount.Total, p.Amount.Refund, p.Amount.PayerTotal, p.Amount.PayerRefund = o.Total, r.Amount, o.Total, r.Amount
	return &notice{
		ID: uuid.NewString(), EventType: "REFUND." + r.Status, Summary: refundSummaries[r.Status],
		OriginalType: "refund", AssociatedData: "refund", OutTradeNo: o.OutTradeNo, OutRefundNo: r.OutRefundNo,
		URL: r.NotifyURL, Plaintext: p, CreateTime: at,
	}
}

// envelope is the notification body, keys in the order real ones have them.
type envelope struct {
	ID           string   `json:"id"`
	CreateTime   string   `json:"create_time"`
	ResourceType string   `json:"resource_type"`
	EventType    string   `json:"event_type"`
	Summary      string   `json:"summary"`
	Resource     resource `json:"resource"`
}

type resource struct {
	OriginalType   string `json:"original_type"`
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

// sealNotice encrypts the resource with AEAD_AES_256_GCM under the merchant's
// APIv3 key: a 12-byte nonce, base64(ciphertext‖tag) (shared/wxpay/WECHATPAY.md c).
func sealNotice(m *Merchant, n *notice) ([]byte, error) {
	plain, err := json.Marshal(n.Plaintext)
	if err != nil {
		return nil, err
	}
	nonce, err := randomAlnum(12)
	if err != nil {
		return nil, err
	}
	ciphertext, err := EncryptResource(m.APIv3Key, nonce, n.AssociatedData, plain)
	if err != nil {
		return nil, err
	}
	return json.Marshal(envelope{
		ID: n.ID, CreateTime: rfc3339(n.CreateTime), ResourceType: "encrypt-resource", EventType: n.EventType,
		Summary: n.Summary, Resource: resource{OriginalType: n.OriginalType, Algorithm: "AEAD_AES_256_GCM",
			Ciphertext: ciphertext, AssociatedData: n.AssociatedData, Nonce: nonce},
	})
}

// EncryptResource seals a notification resource: AES-GCM with the APIv3 key,
// the given nonce and associated data, base64 of ciphertext‖tag. Exported for
// tests that forge resources (wrong key, wrong AAD).
func EncryptResource(apiV3Key, nonce, associatedData string, plaintext []byte) (string, error) {
	block, err := aes.NewCipher([]byte(apiV3Key))
	if err != nil {
		return "", err
	}
	aead, err := cipher.NewGCMWithNonceSize(block, len(nonce))
	if err != nil {
		return "", err
	}
	sealed := aead.Seal(nil, []byte(nonce), plaintext, []byte(associatedData))
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// notifier delivers notifications in the background, one goroutine each.
type notifier struct {
	s      *Sim
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	active  int
	waiters []chan struct{}
	held    []chan struct{} // reordered notifications waiting for the next one
}

func newNotifier(s *Sim) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	return &notifier{s: s, ctx: ctx, cancel: cancel}
}

// async runs fn in the background, counted by idle and stopped by close.
func (n *notifier) async(fn func(ctx context.Context)) {
	n.mu.Lock()
	n.active++
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer n.done()
		fn(n.ctx)
	}()
}

func (n *notifier) done() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.active--; n.active == 0 {
		for _, w := range n.waiters {
			close(w)
		}
		n.waiters = nil
	}
}

func (n *notifier) idle(ctx context.Context) error {
	n.mu.Lock()
	if n.active == 0 {
		n.mu.Unlock()
		return nil
	}
	w := make(chan struct{})
	n.waiters = append(n.waiters, w)
	n.mu.Unlock()
	select {
	case <-w:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *notifier) close() {
	n.cancel()
	n.wg.Wait()
}

func (n *notifier) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * n.s.cfg.NotifyScale)
}

// enqueue records the notification and starts its delivery.
func (n *notifier) enqueue(ctx context.Context, m *Merchant, nt *notice) {
	s := n.s
	body, err := sealNotice(m, nt)
	if err != nil {
		s.logger.ErrorContext(ctx, "seal notification", "err", err)
		return
	}
	fs := s.faults.takeNotify(nt.OutTradeNo)
	kinds := make([]string, len(fs))
	for i, f := range fs {
		kinds[i] = f.Kind
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO wxsim.notifications (id, mchid, url, event_type, out_trade_no,
		out_refund_no, body, status, faults, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,'PENDING',$8,$9)`,
		nt.ID, m.MchID, nt.URL, nt.EventType, nt.OutTradeNo, nt.OutRefundNo, string(body),
		strings.Join(kinds, ","), nt.CreateTime); err != nil {
		s.logger.ErrorContext(ctx, "record notification", "err", err)
		return
	}
	n.async(func(ctx context.Context) { n.deliver(ctx, m, nt, body, fs) })
}

// deliver runs WeChat's delivery for one notification, faults applied.
func (n *notifier) deliver(ctx context.Context, m *Merchant, nt *notice, body []byte, fs []Fault) {
	var f struct {
		drop, reorder, signtest bool
		delay                   time.Duration
		duplicates, fail        int
	}
	for _, x := range fs {
		switch x.Kind {
		case FaultDrop:
			f.drop = true
		case FaultReorder:
			f.reorder = true
		case FaultSignTest:
			f.signtest = true
		case FaultDelay:
			f.delay = time.Duration(x.Delay)
		case FaultDuplicate:
			f.duplicates = x.Times
		case FaultFail:
			f.fail = x.Times
		}
	}
	if f.drop {
		n.setStatus(ctx, nt.ID, "DROPPED")
		return
	}
	if f.reorder {
		release := make(chan struct{})
		n.mu.Lock()
		n.held = append(n.held, release)
		n.mu.Unlock()
		// Released when the next notification has gone out; if none comes, after
		// four first-retry intervals, and never sooner than 10 s so that a scaled
		// schedule does not release it before the next one is even made.
		if !sleep(ctx, release, max(n.scaled(4*retrySchedule[0]), 10*time.Second)) {
			return
		}
	}
	if !sleep(ctx, nil, f.delay+n.scaled(nt.Delay)) {
		return
	}
	attempt := 0
	if f.signtest {
		attempt++
		n.post(ctx, m, nt, body, attempt, "SIGNTEST", true)
	}
	delivered := false
	for i := 0; i <= len(retrySchedule) && !delivered; i++ {
		if i > 0 && !sleep(ctx, nil, n.scaled(retrySchedule[i-1])) {
			return
		}
		attempt++
		if i < f.fail {
			n.recordAttempt(ctx, nt.ID, attempt, "DELIVERY", 0, "lost by injected fault")
		} else {
			delivered = n.post(ctx, m, nt, body, attempt, "DELIVERY", false)
		}
		if i == 0 {
			n.releaseHeld()
		}
	}
	if !delivered {
		n.setStatus(ctx, nt.ID, "GAVE_UP")
		return
	}
	n.setStatus(ctx, nt.ID, "DELIVERED")
	for range f.duplicates {
		attempt++
		n.post(ctx, m, nt, body, attempt, "DUPLICATE", false)
	}
}

func (n *notifier) releaseHeld() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.held {
		close(c)
	}
	n.held = nil
}

// post sends one attempt, signed afresh (the receiver checks the timestamp), and
// reports whether the merchant acknowledged it: 200 or 204 only (shared/wxpay/WECHATPAY.md c).
func (n *notifier) post(ctx context.Context, m *Merchant, nt *notice, body []byte, attempt int, kind string, probe bool) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, nt.URL, bytes.NewReader(body))
	if err != nil {
		n.recordAttempt(ctx, nt.ID, attempt, kind, 0, err.Error())
		return false
	}
	h := req.Header
	key, serial := n.s.notifyKey(m)
	n.s.signInto(h, key, serial, body)
	if probe {
		h.Set("Wechatpay-Signature", signTestSignature())
	}
	h.Set("Wechatpay-Signature-Type", authScheme)
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "*/*")
	h.Set("User-Agent", "Mozilla/4.0")
	resp, err := n.s.cfg.NotifyClient.Do(req)
	if err != nil {
		n.recordAttempt(ctx, nt.ID, attempt, kind, 0, err.Error())
		return false
	}
	resp.Body.Close()
	n.recordAttempt(ctx, nt.ID, attempt, kind, resp.StatusCode, "")
	return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent
}

func (n *notifier) recordAttempt(ctx context.Context, id string, attempt int, kind string, status int, errText string) {
	if _, err := n.s.db.Exec(ctx, `INSERT INTO wxsim.notify_attempts (notification_id, attempt, kind, at,
		status_code, error) VALUES ($1,$2,$3,now(),$4,$5)`, id, attempt, kind, status, errText); err != nil && ctx.Err() == nil {
		n.s.logger.Error("record notification attempt", "err", err)
	}
}

func (n *notifier) setStatus(ctx context.Context, id, status string) {
	if _, err := n.s.db.Exec(ctx, `UPDATE wxsim.notifications SET status = $2 WHERE id = $1`, id, status); err != nil && ctx.Err() == nil {
		n.s.logger.Error("record notification status", "err", err)
	}
}

// sleep waits d, or until wake is closed; false when ctx ends first.
func sleep(ctx context.Context, wake <-chan struct{}, d time.Duration) bool {
	if d <= 0 && wake == nil {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-wake:
		return true
	case <-ctx.Done():
		return false
	}
}

// NotificationRecord is a notification and its delivery attempts (control API).
type NotificationRecord struct {
	ID          string          `json:"id"`
	MchID       string          `json:"mchid"`
	URL         string          `json:"url"`
	EventType   string          `json:"event_type"`
	OutTradeNo  string          `json:"out_trade_no"`
	OutRefundNo string          `json:"out_refund_no,omitempty"`
	Status      string          `json:"status"`
	Faults      string          `json:"faults,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	Body        json.RawMessage `json:"body"`
	Attempts    []Attempt       `json:"attempts"`
}

// Attempt is one delivery attempt.
type Attempt struct {
	Attempt    int       `json:"attempt"`
	Kind       string    `json:"kind"`
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code"`
	Error      string    `json:"error,omitempty"`
}

// Notifications lists notifications, newest first, optionally of one order.
func (s *Sim) Notifications(ctx context.Context, outTradeNo string) ([]NotificationRecord, error) {
	rows, err := s.db.Query(ctx, `SELECT n.id, n.mchid, n.url, n.event_type, n.out_trade_no, n.out_refund_no,
		n.status, n.faults, n.created_at, n.body,
		COALESCE(json_agg(json_build_object('attempt', a.attempt, 'kind', a.kind, 'at', a.at,
			'status_code', a.status_code, 'error', a.error) ORDER BY a.attempt)
			FILTER (WHERE a.attempt IS NOT NULL), '[]')
		FROM wxsim.notifications n LEFT JOIN wxsim.notify_attempts a ON a.notification_id = n.id
		WHERE $1 = '' OR n.out_trade_no = $1
		GROUP BY n.id ORDER BY n.created_at DESC, n.id`, outTradeNo)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []NotificationRecord{} // an empty list is [] in the control API, not null
	for rows.Next() {
		var r NotificationRecord
		var body string
		var attempts []byte
		if err := rows.Scan(&r.ID, &r.MchID, &r.URL, &r.EventType, &r.OutTradeNo, &r.OutRefundNo, &r.Status,
			&r.Faults, &r.CreatedAt, &body, &attempts); err != nil {
			return nil, err
		}
		r.Body = json.RawMessage(body)
		if err := json.Unmarshal(attempts, &r.Attempts); err != nil {
			return nil, fmt.Errorf("attempts of %s: %w", r.ID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
