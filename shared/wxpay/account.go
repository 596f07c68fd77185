package wxpay

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// PublicKeyIDPrefix starts every WeChat Pay public-key ID (微信支付公钥ID).
const PublicKeyIDPrefix = "PUB_KEY_ID_"

// Account is one WeChat Pay merchant account as Tandem's client needs it.
//
// Responses and notifications are verified with the platform certificates, the
// WeChat Pay public key, or both at once while a merchant switches from the first
// to the second (WeChat then signs notifications with either).
type Account struct {
	MchID string // 商户号
	// AppID is the app (mini-program) the account pays for; notifications naming
	// another appid are reported as a mismatch. Empty disables that check.
	AppID      string
	CertSerial string          // serial of the merchant API certificate (signs requests)
	PrivateKey *rsa.PrivateKey // the merchant API private key
	// APIv3Key decrypts notification resources. It must be exactly 32 bytes: the SDK
	// would silently accept 16 or 24 and run AES-128/192 instead (shared/wxpay/WECHATPAY.md b).
	APIv3Key string

	PlatformCerts []*x509.Certificate // platform-certificate mode
	PublicKeyID   string              // public-key mode: "PUB_KEY_ID_..."
	PublicKey     *rsa.PublicKey      // public-key mode
}

// Validate reports the first configuration error.
func (a Account) Validate() error {
	switch {
	case a.MchID == "":
		return fmt.Errorf("wxpay account: mchid is empty")
	case a.CertSerial == "":
		return fmt.Errorf("wxpay account %s: merchant certificate serial is empty", a.MchID)
	case a.PrivateKey == nil:
		return fmt.Errorf("wxpay account %s: merchant private key is missing", a.MchID)
	case len(a.APIv3Key) != 32:
		return fmt.Errorf("wxpay account %s: APIv3 key must be 32 bytes, got %d", a.MchID, len(a.APIv3Key))
	case len(a.PlatformCerts) == 0 && a.PublicKey == nil:
		return fmt.Errorf("wxpay account %s: neither platform certificates nor a WeChat Pay public key", a.MchID)
	case a.PublicKey != nil && !strings.HasPrefix(a.PublicKeyID, PublicKeyIDPrefix):
		return fmt.Errorf("wxpay account %s: public key ID %q does not start with %s", a.MchID, a.PublicKeyID, PublicKeyIDPrefix)
	}
	return nil
}

// verifier is the SDK verifier for this account's key material: the combined one
// during a switch, whose GetSerial names the public key, so responses to our
// requests come back signed with it (shared/wxpay/WECHATPAY.md b, "responses follow the
// request's Wechatpay-Serial").
func (a Account) verifier() auth.Verifier {
	certs := core.NewCertificateMapWithList(a.PlatformCerts)
	switch {
	case a.PublicKey != nil && len(a.PlatformCerts) > 0:
		return verifiers.NewSHA256WithRSACombinedVerifier(certs, a.PublicKeyID, *a.PublicKey)
	case a.PublicKey != nil:
		return verifiers.NewSHA256WithRSAPubkeyVerifier(a.PublicKeyID, *a.PublicKey)
	default:
		return verifiers.NewSHA256WithRSAVerifier(certs)
	}
}

// AccountFiles names the PEM files and values an Account is loaded from, as they
// are kept in configuration or a secrets directory.
type AccountFiles struct {
	MchID             string
	AppID             string
	CertSerial        string // may be empty when MerchantCertFile is given
	PrivateKeyFile    string
	MerchantCertFile  string // optional: the merchant API certificate, to read its serial
	APIv3KeyFile      string
	PlatformCertFiles []string
	PublicKeyID       string
	PublicKeyFile     string
}

// LoadAccount reads the files named by f and returns a validated Account.
func LoadAccount(f AccountFiles) (Account, error) {
	a := Account{MchID: f.MchID, AppID: f.AppID, CertSerial: f.CertSerial, PublicKeyID: f.PublicKeyID}
	var err error
	if a.PrivateKey, err = utils.LoadPrivateKeyWithPath(f.PrivateKeyFile); err != nil {
		return Account{}, fmt.Errorf("wxpay account %s: private key: %w", f.MchID, err)
	}
	if f.MerchantCertFile != "" && a.CertSerial == "" {
		cert, err := utils.LoadCertificateWithPath(f.MerchantCertFile)
		if err != nil {
			return Account{}, fmt.Errorf("wxpay account %s: merchant certificate: %w", f.MchID, err)
		}
		a.CertSerial = utils.GetCertificateSerialNumber(*cert)
	}
	key, err := os.ReadFile(f.APIv3KeyFile)
	if err != nil {
		return Account{}, fmt.Errorf("wxpay account %s: APIv3 key: %w", f.MchID, err)
	}
	a.APIv3Key = strings.TrimSpace(string(key))
	for _, path := range f.PlatformCertFiles {
		cert, err := utils.LoadCertificateWithPath(path)
		if err != nil {
			return Account{}, fmt.Errorf("wxpay account %s: platform certificate: %w", f.MchID, err)
		}
		a.PlatformCerts = append(a.PlatformCerts, cert)
	}
	if f.PublicKeyFile != "" {
		if a.PublicKey, err = utils.LoadPublicKeyWithPath(f.PublicKeyFile); err != nil {
			return Account{}, fmt.Errorf("wxpay account %s: WeChat Pay public key: %w", f.MchID, err)
		}
	}
	return a, a.Validate()
}
