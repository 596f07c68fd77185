package wxsim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// authScheme is the only Authorization scheme WeChat accepts (shared/wxpay/WECHATPAY.md a).
const authScheme = "WECHATPAY2-SHA256-RSA2048"

// timestampWindow is how far a request's timestamp may be from WeChat's clock.
// shared/wxpay/WECHATPAY.md gives the SDK's 300 s for responses and notifications; no source
// gives WeChat's own window for requests, so the same one is applied.
const timestampWindow = 300

const maxRequestBody = 1 << 20

// apiRequest is a merchant request whose signature has been verified.
type apiRequest struct {
	r        *http.Request
	merchant *Merchant
	body     []byte // exactly as received
}

// apiResponse is what a handler answers; the wrapper signs it unless unsigned.
type apiResponse struct {
	status      int
	body        []byte
	contentType string
	unsigned    bool // bill files: WeChat does not sign them (shared/wxpay/WECHATPAY.md d)
}

type apiFunc func(req *apiRequest) apiResponse

// apiError is WeChat's error body {"code":...,"message":...} (SDK core/error.go).
func apiError(status int, code, message string) apiResponse {
	b, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, message})
	return apiResponse{status: status, body: b, contentType: "application/json"}
}

func jsonResponse(status int, v any) apiResponse {
	b, err := json.Marshal(v)
	if err != nil {
		return apiError(http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误")
	}
	return apiResponse{status: status, body: b, contentType: "application/json"}
}

// api wraps a handler: read the exact body, verify the Authorization over
// method, the request-target as received, timestamp, nonce and body, apply any
// injected API fault, then sign and write the answer.
func (s *Sim) api(fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		if err != nil || len(body) > maxRequestBody {
			s.write(w, r, nil, apiError(http.StatusBadRequest, "PARAM_ERROR", "请求体过大或不可读"))
			return
		}
		m, resp, ok := s.authenticate(r, body)
		if !ok {
			s.write(w, r, m, resp)
			return
		}
		fault := s.faults.takeAPI(r.URL.Path)
		if fault != nil && fault.Kind == FaultAPIDelay {
			select {
			case <-time.After(time.Duration(fault.Delay)):
			case <-r.Context().Done():
				return
			}
		}
		if fault != nil && fault.Kind == FaultAPIError {
			s.write(w, r, m, apiError(fault.Status, fault.Code, fault.Message))
			return
		}
		resp = fn(&apiRequest{r: r, merchant: m, body: body})
		if fault != nil && fault.Kind == FaultResponseSignTest {
			s.writeProbe(w, resp)
			return
		}
		s.write(w, r, m, resp)
	})
}

// authenticate returns the merchant, or the 401 answer WeChat gives.
func (s *Sim) authenticate(r *http.Request, body []byte) (*Merchant, apiResponse, bool) {
	deny := func(msg string) (*Merchant, apiResponse, bool) {
		s.logger.Info("request signature refused", "path", r.URL.Path, "reason", msg)
		return nil, apiError(http.StatusUnauthorized, "SIGN_ERROR", "签名错误: "+msg), false
	}
	params, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return deny(err.Error())
	}
	m, ok := s.merchant(params["mchid"])
	if !ok {
		return deny("商户号不存在")
	}
	if params["serial_no"] != m.CertSerial {
		return deny("商户证书序列号错误")
	}
	ts, err := strconv.ParseInt(params["timestamp"], 10, 64)
	if err != nil {
		return deny("timestamp 格式错误")
	}
	if math.Abs(float64(time.Now().Unix()-ts)) >= timestampWindow {
		return deny("timestamp 已过期")
	}
	// r.RequestURI is the request-target exactly as it arrived: the path and
	// query the merchant signed, before any unescaping.
	msg := fmt.Sprintf("%s\n%s\n%s\n%s\n%s\n", r.Method, r.RequestURI, params["timestamp"], params["nonce_str"], body)
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil {
		return deny("signature 不是 base64")
	}
	digest := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(m.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		return deny("验签失败")
	}
	return m, apiResponse{}, true
}

// parseAuthorization reads `WECHATPAY2-SHA256-RSA2048 k="v",...`; the five
// parameters may come in any order (shared/wxpay/WECHATPAY.md a).
func parseAuthorization(h string) (map[string]string, error) {
	rest, ok := strings.CutPrefix(h, authScheme+" ")
	if !ok {
		return nil, fmt.Errorf("认证类型不是 %s", authScheme)
	}
	params := make(map[string]string, 5)
	for rest = strings.TrimSpace(rest); rest != ""; {
		key, after, ok := strings.Cut(rest, "=\"")
		if !ok {
			return nil, fmt.Errorf("认证信息格式错误")
		}
		value, tail, ok := strings.Cut(after, "\"")
		if !ok {
			return nil, fmt.Errorf("认证信息格式错误")
		}
		params[strings.TrimSpace(key)] = value
		rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(tail), ","))
	}
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if params[k] == "" {
			return nil, fmt.Errorf("认证信息缺少 %s", k)
		}
	}
	return params, nil
}

// write sends resp, signed like every WeChat answer (the empty body of a 204
// included) unless it is a bill file.
func (s *Sim) write(w http.ResponseWriter, r *http.Request, m *Merchant, resp apiResponse) {
	h := w.Header()
	h.Set("Request-ID", mustNonce())
	if resp.contentType != "" {
		h.Set("Content-Type", resp.contentType)
	}
	if !resp.unsigned {
		key, serial := s.responseKey(r.Header.Get("Wechatpay-Serial"), m)
		s.signInto(h, key, serial, resp.body)
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// writeProbe answers with a deliberately wrong signature, as WeChat does now and
// then to check that merchants verify (shared/wxpay/WECHATPAY.md b).
func (s *Sim) writeProbe(w http.ResponseWriter, resp apiResponse) {
	h := w.Header()
	h.Set("Content-Type", resp.contentType)
	h.Set("Wechatpay-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	h.Set("Wechatpay-Nonce", mustNonce())
	h.Set("Wechatpay-Serial", s.keys.CertSerial())
	h.Set("Wechatpay-Signature", signTestSignature())
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

func signTestSignature() string { return "WECHATPAY/SIGNTEST/" + mustNonce() }

// responseKey picks the key for an answer: the one the request's
// Wechatpay-Serial names, else the merchant's mode (shared/wxpay/WECHATPAY.md b).
func (s *Sim) responseKey(requested string, m *Merchant) (*rsa.PrivateKey, string) {
	switch {
	case requested == s.keys.PublicKeyID:
		return s.keys.PubKeyKey, s.keys.PublicKeyID
	case requested == s.keys.CertSerial():
		return s.keys.CertKey, s.keys.CertSerial()
	case m != nil && m.KeyMode == KeyModePublicKey:
		return s.keys.PubKeyKey, s.keys.PublicKeyID
	}
	return s.keys.CertKey, s.keys.CertSerial()
}

// notifyKey picks the key for a notification; during a switch, either at random.
func (s *Sim) notifyKey(m *Merchant) (*rsa.PrivateKey, string) {
	mode := m.KeyMode
	if mode == KeyModeSwitch {
		var b [1]byte
		_, _ = rand.Read(b[:])
		mode = KeyModeCert
		if b[0]&1 == 1 {
			mode = KeyModePublicKey
		}
	}
	if mode == KeyModePublicKey {
		return s.keys.PubKeyKey, s.keys.PublicKeyID
	}
	return s.keys.CertKey, s.keys.CertSerial()
}

// signInto sets the four Wechatpay-* headers over "timestamp\nnonce\nbody\n",
// with the real time: the receiver checks it against its own clock.
func (s *Sim) signInto(h http.Header, key *rsa.PrivateKey, serial string, body []byte) {
	ts, nonce := time.Now().Unix(), mustNonce()
	h.Set("Wechatpay-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", SignMessage(key, ts, nonce, body))
	h.Set("Wechatpay-Serial", serial)
}

// SignMessage is WeChat's signature of an answer or notification: SHA256withRSA
// over "timestamp\nnonce\nbody\n", base64 (shared/wxpay/WECHATPAY.md b). Exported so tests can
// forge notifications that only WeChat could sign (wrong AAD, stale timestamps).
func SignMessage(key *rsa.PrivateKey, ts int64, nonce string, body []byte) string {
	msg := strconv.FormatInt(ts, 10) + "\n" + nonce + "\n" + string(body) + "\n"
	digest := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		panic(fmt.Sprintf("wxsim: sign: %v", err)) // only on a broken key
	}
	return base64.StdEncoding.EncodeToString(sig)
}
