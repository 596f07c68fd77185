package wxpay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
// the key a rejected application is resubmitted under.
type ApplymentRequest struct {
	BusinessCode      string
	ContactName       string
	ContactPhone      string
	MerchantShortname string
	ServicePhone      string
	// LicenceNumber and LegalPerson: the subject (a business licence); BankAccount:
	// the settlement account. WeChat wants the sensitive ones encrypted with the
	// platform key; TODO when a real provider account is configured.
	LicenceNumber string
	LegalPerson   string
	BankAccount   string
	BankName      string
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
func (c *Client) SubmitApplyment(ctx context.Context, r ApplymentRequest) (int64, error) {
	body := map[string]any{
		"business_code": r.BusinessCode,
		"contact_info":  map[string]any{"contact_type": "LEGAL", "contact_name": r.ContactName, "mobile_phone": r.ContactPhone},
		"subject_info": map[string]any{"subject_type": "SUBJECT_TYPE_INDIVIDUAL",
			"business_license_info": map[string]any{"license_number": r.LicenceNumber, "legal_person": r.LegalPerson, "merchant_name": r.MerchantShortname}},
		"business_info":     map[string]any{"merchant_shortname": r.MerchantShortname, "service_phone": r.ServicePhone},
		"settlement_info":   map[string]any{"settlement_id": "719"},
		"bank_account_info": map[string]any{"bank_account_type": "BANK_ACCOUNT_TYPE_PERSONAL", "account_bank": r.BankName, "account_number": r.BankAccount},
	}
	var out struct {
		ApplymentID int64 `json:"applyment_id"`
	}
	err := c.call(ctx, "submit applyment", true, func(ctx context.Context) error {
		result, err := c.api.Post(ctx, consts.WechatPayAPIServer+"/v3/applyment4sub/applyment/", body)
		return decodeResult("submit applyment", result, err, &out)
	})
	return out.ApplymentID, err
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
