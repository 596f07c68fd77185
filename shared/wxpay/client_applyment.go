package wxpay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
)

// Applyment states (特约商户进件, /v3/applyment4sub/applyment/), as WeChat spells them.
const (
	ApplymentEditing       = "APPLYMENT_STATE_EDITTING"
	ApplymentAuditing      = "APPLYMENT_STATE_AUDITING"
	ApplymentRejected      = "APPLYMENT_STATE_REJECTED"
	ApplymentToBeConfirmed = "APPLYMENT_STATE_TO_BE_CONFIRMED"
	ApplymentToBeSigned    = "APPLYMENT_STATE_TO_BE_SIGNED"
	ApplymentSigning       = "APPLYMENT_STATE_SIGNING"
	ApplymentFinished      = "APPLYMENT_STATE_FINISHED"
	ApplymentCanceled      = "APPLYMENT_STATE_CANCELED"
	ApplymentFrozen        = "APPLYMENT_STATE_FROZEN"
)

// ApplymentRequest is a sub-merchant application, reduced to what Tandem collects.
// BusinessCode is the provider's own number for it: WeChat's idempotency key, and
// the key a rejected application is resubmitted under. The fields marked sensitive
// never leave the client in clear: SubmitApplyment encrypts them (see sensitive.go).
// Empty optional fields are left out of the submission.
type ApplymentRequest struct {
	BusinessCode      string
	MerchantShortname string
	ServicePhone      string
	// The contact (超级管理员): name, mobile, ID number and e-mail are sensitive.
	ContactName     string
	ContactPhone    string
	ContactIDNumber string
	ContactEmail    string
	// The subject's business licence (not sensitive) and its legal representative's
	// ID card: name and number are sensitive.
	LicenceNumber string
	LegalPerson   string
	IDCardName    string
	IDCardNumber  string
	// The settlement bank account: account name and number are sensitive.
	BankAccountName   string
	BankAccountNumber string
	BankName          string
}

// Applyment is where WeChat's review of an application stands.
type Applyment struct {
	BusinessCode string `json:"business_code"`
	ApplymentID  int64  `json:"applyment_id"`
	State        string `json:"applyment_state"`
	StateMsg     string `json:"applyment_state_msg"`
	SubMchID     string `json:"sub_mchid"`
	SignURL      string `json:"sign_url"`
	AuditDetail  []struct {
		Field        string `json:"field"`
		FieldName    string `json:"field_name"`
		RejectReason string `json:"reject_reason"`
	} `json:"audit_detail"`
}

// RejectReason joins the reasons WeChat gave for a rejection.
func (a *Applyment) RejectReason() string {
	s := ""
	for i, d := range a.AuditDetail {
		if i > 0 {
			s += "; "
		}
		if d.FieldName != "" {
			s += d.FieldName + ": "
		}
		s += d.RejectReason
	}
	return s
}

// SubmitApplyment submits (or resubmits after a rejection) an application and
// returns WeChat's applyment_id. Retried: WeChat deduplicates on business_code.
// The sensitive fields are encrypted with the WeChat Pay key the request's
// Wechatpay-Serial names (shared/wxpay/WECHATPAY.md g).
func (c *Client) SubmitApplyment(ctx context.Context, r ApplymentRequest) (int64, error) {
	enc, err := c.sensitiveEncrypter()
	if err != nil {
		return 0, err
	}
	body, err := applymentBody(r, enc)
	if err != nil {
		return 0, err
	}
	header := http.Header{}
	header.Set(consts.WechatPaySerial, enc.serial)
	var out struct {
		ApplymentID int64 `json:"applyment_id"`
	}
	err = c.call(ctx, "submit applyment", true, func(ctx context.Context) error {
		result, err := c.api.Request(ctx, http.MethodPost, consts.WechatPayAPIServer+"/v3/applyment4sub/applyment/",
			header, nil, body, consts.ApplicationJSON)
		return decodeResult("submit applyment", result, err, &out)
	})
	return out.ApplymentID, err
}

// applymentBody is the submission as WeChat's applyment4sub API spells it, with
// every sensitive value encrypted by enc.
func applymentBody(r ApplymentRequest, enc *sensitiveEncrypter) (map[string]any, error) {
	sensitive := func(m map[string]any, key, value string) {
		if value != "" {
			m[key] = enc.seal(value)
		}
	}
	contact := map[string]any{"contact_type": "LEGAL"}
	sensitive(contact, "contact_name", r.ContactName)
	sensitive(contact, "mobile_phone", r.ContactPhone)
	sensitive(contact, "contact_id_number", r.ContactIDNumber)
	sensitive(contact, "contact_email", r.ContactEmail)
	subject := map[string]any{"subject_type": "SUBJECT_TYPE_INDIVIDUAL",
		"business_license_info": map[string]any{"license_number": r.LicenceNumber, "legal_person": r.LegalPerson, "merchant_name": r.MerchantShortname}}
	if r.IDCardName != "" || r.IDCardNumber != "" {
		card := map[string]any{}
		sensitive(card, "id_card_name", r.IDCardName)
		sensitive(card, "id_card_number", r.IDCardNumber)
		subject["identity_info"] = map[string]any{"id_doc_type": "IDENTIFICATION_TYPE_IDCARD", "id_card_info": card}
	}
	bank := map[string]any{"bank_account_type": "BANK_ACCOUNT_TYPE_PERSONAL", "account_bank": r.BankName}
	sensitive(bank, "account_name", r.BankAccountName)
	sensitive(bank, "account_number", r.BankAccountNumber)
	if enc.err != nil {
		return nil, enc.err
	}
	return map[string]any{
		"business_code":     r.BusinessCode,
		"contact_info":      contact,
		"subject_info":      subject,
		"business_info":     map[string]any{"merchant_shortname": r.MerchantShortname, "service_phone": r.ServicePhone},
		"settlement_info":   map[string]any{"settlement_id": "719"},
		"bank_account_info": bank,
	}, nil
}

// QueryApplyment returns an application's state by its business_code.
func (c *Client) QueryApplyment(ctx context.Context, businessCode string) (*Applyment, error) {
	var out Applyment
	err := c.call(ctx, "query applyment", true, func(ctx context.Context) error {
		result, err := c.api.Get(ctx, consts.WechatPayAPIServer+"/v3/applyment4sub/applyment/business_code/"+url.PathEscape(businessCode))
		return decodeResult("query applyment", result, err, &out)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// decodeResult reads a JSON answer of the core client into v.
func decodeResult(op string, result *core.APIResult, err error, v any) error {
	if err != nil {
		return apiError(op, result, err)
	}
	defer result.Response.Body.Close()
	b, err := io.ReadAll(result.Response.Body)
	if err != nil {
		return transportError(op, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return apiError(op, result, fmt.Errorf("%w", err))
	}
	return nil
}
