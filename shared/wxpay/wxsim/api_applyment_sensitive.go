package wxsim

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// applymentSensitive are the applyment4sub fields WeChat wants encrypted
// (shared/wxpay/WECHATPAY.md g), as paths into the submission.
var applymentSensitive = [][]string{
	{"contact_info", "contact_name"},
	{"contact_info", "contact_id_number"},
	{"contact_info", "mobile_phone"},
	{"contact_info", "contact_email"},
	{"subject_info", "identity_info", "id_card_info", "id_card_name"},
	{"subject_info", "identity_info", "id_card_info", "id_card_number"},
	{"subject_info", "identity_info", "id_card_info", "id_card_address"},
	{"subject_info", "identity_info", "id_doc_info", "id_doc_name"},
	{"subject_info", "identity_info", "id_doc_info", "id_doc_number"},
	{"subject_info", "identity_info", "id_doc_info", "id_doc_address"},
	{"bank_account_info", "account_name"},
	{"bank_account_info", "account_number"},
}

// sensitiveKey is WeChat's private key behind the serial a request names in
// Wechatpay-Serial: the platform certificate's or the WeChat Pay public key's.
func (s *Sim) sensitiveKey(serial string) (*rsa.PrivateKey, bool) {
	switch serial {
	case s.keys.CertSerial():
		return s.keys.CertKey, true
	case s.keys.PublicKeyID:
		return s.keys.PubKeyKey, true
	}
	return nil, false
}

// decryptApplyment decrypts every sensitive field of a submission in place, as
// WeChat does before its review, and refuses the submission (400 PARAM_ERROR) when a
// field is in clear, encrypted under another key, or the Wechatpay-Serial header
// names no key WeChat holds. It returns the submission as WeChat reads it.
func (s *Sim) decryptApplyment(r *http.Request, body []byte) ([]byte, *apiResponse) {
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		resp := paramError("请求体不是合法的 JSON: %v", err)
		return nil, &resp
	}
	serial := r.Header.Get("Wechatpay-Serial")
	key, known := s.sensitiveKey(serial)
	for _, path := range applymentSensitive {
		parent, ok := walk(doc, path[:len(path)-1])
		if !ok {
			continue
		}
		field := path[len(path)-1]
		v, ok := parent[field].(string)
		if !ok || v == "" {
			continue
		}
		if !known {
			resp := paramError("Wechatpay-Serial %q 不是有效的平台证书序列号或微信支付公钥ID", serial)
			return nil, &resp
		}
		plain, err := utils.DecryptOAEP(v, key)
		if err != nil {
			resp := paramError("请确认待处理的消息是否为加密后的密文: %s", strings.Join(path, "."))
			return nil, &resp
		}
		parent[field] = plain
	}
	out, err := json.Marshal(doc)
	if err != nil {
		resp := errSystem
		return nil, &resp
	}
	return out, nil
}

func walk(doc map[string]any, path []string) (map[string]any, bool) {
	cur := doc
	for _, k := range path {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

// ApplymentSubmission is an application as WeChat read it: its state and the
// submission with the sensitive fields decrypted (control API, for tests and demos).
type ApplymentSubmission struct {
	BusinessCode string         `json:"business_code"`
	State        string         `json:"applyment_state"`
	Submission   map[string]any `json:"submission"`
}

// Applyment returns an application as WeChat read it.
func (s *Sim) Applyment(ctx context.Context, businessCode string) (*ApplymentSubmission, error) {
	var out ApplymentSubmission
	var body []byte
	err := s.db.QueryRow(ctx, `SELECT business_code, state, body FROM wxsim.applyments WHERE business_code = $1`, businessCode).
		Scan(&out.BusinessCode, &out.State, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &opError{status: http.StatusNotFound, msg: "no applyment " + businessCode}
	}
	if err != nil {
		return nil, fmt.Errorf("wxsim: applyment %s: %w", businessCode, err)
	}
	if err := json.Unmarshal(body, &out.Submission); err != nil {
		return nil, err
	}
	return &out, nil
}
