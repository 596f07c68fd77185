package wxsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Applyment states as WeChat spells them (EDITTING sic).
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

// applymentMoves are the moves WeChat's side makes; frozen and canceled may follow
// any state that is not final.
var applymentMoves = map[string][]string{
	ApplymentAuditing:      {ApplymentRejected, ApplymentToBeConfirmed, ApplymentToBeSigned},
	ApplymentToBeConfirmed: {ApplymentToBeSigned},
	ApplymentToBeSigned:    {ApplymentSigning, ApplymentFinished},
	ApplymentSigning:       {ApplymentFinished},
	ApplymentFrozen:        {ApplymentAuditing, ApplymentFinished},
}

func applymentFinal(state string) bool {
	return state == ApplymentFinished || state == ApplymentCanceled
}

// applymentBody is the part of the submission the simulator checks; the rest is kept
// as WeChat read it, the sensitive fields decrypted (api_applyment_sensitive.go).
type applymentBody struct {
	BusinessCode string `json:"business_code"`
	ContactInfo  *struct {
		ContactName string `json:"contact_name"`
		MobilePhone string `json:"mobile_phone"`
	} `json:"contact_info"`
	BusinessInfo *struct {
		MerchantShortname string `json:"merchant_shortname"`
	} `json:"business_info"`
}

type applyment struct {
	BusinessCode, MchID, State, RejectReason, SubMchID, SignURL string
	ApplymentID                                                 int64
}

const applymentColumns = `business_code, mchid, applyment_id, state, reject_reason, sub_mchid, sign_url`

func scanApplyment(row pgx.Row) (*applyment, error) {
	var a applyment
	err := row.Scan(&a.BusinessCode, &a.MchID, &a.ApplymentID, &a.State, &a.RejectReason, &a.SubMchID, &a.SignURL)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound
	}
	return &a, err
}

// submitApplyment is POST /v3/applyment4sub/applyment/: a new application, or the
// resubmission of a rejected one under the same business_code (WeChat's rule).
// Submitting one that is under way again answers its applyment_id (idempotent).
func (s *Sim) submitApplyment(req *apiRequest) apiResponse {
	read, refused := s.decryptApplyment(req.r, req.body)
	if refused != nil {
		return *refused
	}
	var b applymentBody
	if err := json.Unmarshal(read, &b); err != nil {
		return paramError("请求体不是合法的 JSON: %v", err)
	}
	switch {
	case b.BusinessCode == "" || len(b.BusinessCode) > 124:
		return paramError("business_code 不能为空")
	case b.ContactInfo == nil || b.ContactInfo.ContactName == "":
		return paramError("contact_info.contact_name 不能为空")
	case b.BusinessInfo == nil || b.BusinessInfo.MerchantShortname == "":
		return paramError("business_info.merchant_shortname 不能为空")
	}
	ctx := req.r.Context()
	now := s.clock.Now()
	a, err := scanApplyment(s.db.QueryRow(ctx, `INSERT INTO wxsim.applyments (business_code, mchid, applyment_id, body, state, created_at, updated_at)
		VALUES ($1, $2, nextval('wxsim.applyment_seq'), $3, $4, $5, $5)
		ON CONFLICT (business_code) DO UPDATE SET body = EXCLUDED.body, state = EXCLUDED.state, reject_reason = '', updated_at = EXCLUDED.updated_at
		WHERE wxsim.applyments.state = 'APPLYMENT_STATE_REJECTED' AND wxsim.applyments.mchid = EXCLUDED.mchid
		RETURNING `+applymentColumns, b.BusinessCode, req.merchant.MchID, read, ApplymentAuditing, now))
	if errors.Is(err, errNotFound) {
		// Not inserted, not resubmitted: it exists and is not rejected.
		a, err = scanApplyment(s.db.QueryRow(ctx, `SELECT `+applymentColumns+` FROM wxsim.applyments WHERE business_code = $1`, b.BusinessCode))
		if err != nil {
			return errSystem
		}
		if a.MchID != req.merchant.MchID {
			return apiError(http.StatusBadRequest, "PARAM_ERROR", "业务申请编号已被使用")
		}
	} else if err != nil {
		s.logger.Error("applyment", "err", err)
		return errSystem
	}
	return jsonResponse(http.StatusOK, map[string]any{"applyment_id": a.ApplymentID})
}

// queryApplyment is GET /v3/applyment4sub/applyment/business_code/{business_code}.
func (s *Sim) queryApplyment(req *apiRequest) apiResponse {
	a, err := scanApplyment(s.db.QueryRow(req.r.Context(), `SELECT `+applymentColumns+` FROM wxsim.applyments
		WHERE business_code = $1 AND mchid = $2`, req.r.PathValue("business_code"), req.merchant.MchID))
	if errors.Is(err, errNotFound) {
		return apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "申请单不存在")
	}
	if err != nil {
		return errSystem
	}
	return jsonResponse(http.StatusOK, applymentJSON(a))
}

func applymentJSON(a *applyment) map[string]any {
	out := map[string]any{"business_code": a.BusinessCode, "applyment_id": a.ApplymentID, "applyment_state": a.State,
		"applyment_state_msg": applymentStateMsg[a.State], "sub_mchid": a.SubMchID, "sign_url": a.SignURL}
	if a.State == ApplymentRejected && a.RejectReason != "" {
		out["audit_detail"] = []map[string]string{{"field": "", "field_name": "", "reject_reason": a.RejectReason}}
	}
	return out
}

var applymentStateMsg = map[string]string{
	ApplymentEditing: "提交申请单中", ApplymentAuditing: "审核中", ApplymentRejected: "已驳回",
	ApplymentToBeConfirmed: "待账户验证", ApplymentToBeSigned: "待签约", ApplymentSigning: "开通权限中",
	ApplymentFinished: "已完成", ApplymentCanceled: "已作废", ApplymentFrozen: "已冻结",
}

// ApplymentMove is a control request: WeChat's side moves an application.
type ApplymentMove struct {
	BusinessCode string `json:"business_code"`
	State        string `json:"state"`         // APPLYMENT_STATE_..., or its tail: "FINISHED"
	RejectReason string `json:"reject_reason"` // for REJECTED
}

// MoveApplyment moves an application as WeChat's review would: AUDITING → REJECTED |
// TO_BE_CONFIRMED | TO_BE_SIGNED, TO_BE_CONFIRMED → TO_BE_SIGNED, TO_BE_SIGNED →
// SIGNING | FINISHED, SIGNING → FINISHED; FROZEN and CANCELED from any state not
// final. FINISHED assigns the sub-merchant number, TO_BE_SIGNED the signing link.
func (s *Sim) MoveApplyment(ctx context.Context, m ApplymentMove) (map[string]any, error) {
	state := m.State
	if !strings.HasPrefix(state, "APPLYMENT_STATE_") {
		state = "APPLYMENT_STATE_" + strings.ToUpper(state)
	}
	if _, ok := applymentStateMsg[state]; !ok {
		return nil, &opError{status: http.StatusBadRequest, msg: "unknown state " + m.State}
	}
	var out map[string]any
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		a, err := scanApplyment(tx.QueryRow(ctx, `SELECT `+applymentColumns+` FROM wxsim.applyments WHERE business_code = $1 FOR UPDATE`, m.BusinessCode))
		if errors.Is(err, errNotFound) {
			return &opError{status: http.StatusNotFound, msg: "no applyment " + m.BusinessCode}
		}
		if err != nil {
			return err
		}
		legal := slices.Contains(applymentMoves[a.State], state) ||
			((state == ApplymentFrozen || state == ApplymentCanceled) && !applymentFinal(a.State))
		if !legal {
			return &opError{status: http.StatusConflict, msg: fmt.Sprintf("%s cannot move to %s", a.State, state)}
		}
		a.State = state
		switch state {
		case ApplymentRejected:
			a.RejectReason = m.RejectReason
			if a.RejectReason == "" {
				a.RejectReason = "营业执照信息不清晰"
			}
		case ApplymentToBeSigned:
			a.SignURL = "https://pay.weixin.qq.com/public/apply4ec_sign/s?applymentId=" + fmt.Sprint(a.ApplymentID)
		case ApplymentFinished:
			if a.SubMchID == "" {
				if err := tx.QueryRow(ctx, `SELECT nextval('wxsim.sub_mchid_seq')::text`).Scan(&a.SubMchID); err != nil {
					return err
				}
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE wxsim.applyments SET state = $2, reject_reason = $3, sign_url = $4, sub_mchid = $5, updated_at = $6
			WHERE business_code = $1`, a.BusinessCode, a.State, a.RejectReason, a.SignURL, a.SubMchID, s.clock.Now()); err != nil {
			return err
		}
		out = applymentJSON(a)
		return nil
	})
	return out, err
}
