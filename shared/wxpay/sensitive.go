package wxpay

import (
	"context"
	"fmt"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// sensitiveEncrypter encrypts the fields WeChat calls sensitive (姓名, 证件号, 银行账号,
// 手机号, 邮箱) with RSA-OAEP (SHA-1, as the SDK's helpers do) under a WeChat Pay key,
// and names that key for the request's Wechatpay-Serial header (shared/wxpay/WECHATPAY.md g).
type sensitiveEncrypter struct {
	serial string
	encode func(string) (string, error)
	err    error // the first failure of seal
}

// sensitiveEncrypter picks the key WeChat will decrypt with. It must be the one the
// SDK already names in every request's Wechatpay-Serial (the verifier's serial: the
// public key ID when the account has a WeChat Pay public key, otherwise the newest
// platform certificate), because the SDK overwrites that header with it.
func (c *Client) sensitiveEncrypter() (*sensitiveEncrypter, error) {
	serial, err := c.acct.verifier().GetSerial(context.Background())
	if err != nil {
		return nil, fmt.Errorf("wxpay: no key to encrypt sensitive fields with: %w", err)
	}
	if c.acct.PublicKey != nil && serial == c.acct.PublicKeyID {
		key := c.acct.PublicKey
		return &sensitiveEncrypter{serial: serial, encode: func(m string) (string, error) {
			return utils.EncryptOAEPWithPublicKey(m, key)
		}}, nil
	}
	cert, ok := core.NewCertificateMapWithList(c.acct.PlatformCerts).Get(context.Background(), serial)
	if !ok {
		return nil, fmt.Errorf("wxpay: account %s: no platform certificate %q to encrypt sensitive fields with", c.acct.MchID, serial)
	}
	return &sensitiveEncrypter{serial: serial, encode: func(m string) (string, error) {
		return utils.EncryptOAEPWithCertificate(m, cert)
	}}, nil
}

// seal encrypts one value; the first error is kept in e.err for the caller to check
// once, after building the whole body.
func (e *sensitiveEncrypter) seal(plain string) string {
	if e.err != nil {
		return ""
	}
	out, err := e.encode(plain)
	if err != nil {
		e.err = fmt.Errorf("wxpay: encrypt sensitive field: %w", err)
	}
	return out
}
