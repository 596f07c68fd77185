package wxsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// PlatformKeys is what WeChat holds: the platform certificate's private key and
// the key behind the WeChat Pay public key (公钥模式) with its ID.
type PlatformKeys struct {
	CertKey     *rsa.PrivateKey
	Cert        *x509.Certificate
	PublicKeyID string // PUB_KEY_ID_...
	PubKeyKey   *rsa.PrivateKey
}

// CertSerial is the platform certificate serial as WeChat writes it in
// Wechatpay-Serial: upper-case hex of the serial number (shared/wxpay/WECHATPAY.md b).
func (k *PlatformKeys) CertSerial() string { return certSerial(k.Cert) }

// MerchantKeys is a merchant's API certificate and key and its APIv3 key: what a
// merchant downloads from the merchant platform. The simulator needs only the
// certificate (to verify requests) and the APIv3 key (to encrypt resources).
type MerchantKeys struct {
	MchID    string
	Key      *rsa.PrivateKey
	Cert     *x509.Certificate
	APIv3Key string
}

// CertSerial is the merchant API certificate serial.
func (k *MerchantKeys) CertSerial() string { return certSerial(k.Cert) }

func certSerial(c *x509.Certificate) string { return fmt.Sprintf("%X", c.SerialNumber.Bytes()) }

// GeneratePlatformKeys makes fresh platform key material.
func GeneratePlatformKeys() (*PlatformKeys, error) {
	key, cert, err := newKeyAndCert("Tenpay.com Root CA (wxsim platform)")
	if err != nil {
		return nil, err
	}
	pub, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	// The shape of the real example PUB_KEY_ID_0112860886012025062700111588000000
	// (shared/wxpay/WECHATPAY.md b): 34 digits.
	id, err := randomDigits(34)
	if err != nil {
		return nil, err
	}
	return &PlatformKeys{CertKey: key, Cert: cert, PublicKeyID: "PUB_KEY_ID_" + id, PubKeyKey: pub}, nil
}

// GenerateMerchantKeys makes fresh merchant key material.
func GenerateMerchantKeys(mchID string) (*MerchantKeys, error) {
	key, cert, err := newKeyAndCert(mchID)
	if err != nil {
		return nil, err
	}
	apiV3, err := randomAlnum(32)
	if err != nil {
		return nil, err
	}
	return &MerchantKeys{MchID: mchID, Key: key, Cert: cert, APIv3Key: apiV3}, nil
}

func newKeyAndCert(cn string) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	if err != nil {
		return nil, nil, err
	}
	tpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"wxsim"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

// Files in a keys directory. The merchant's files are what Tandem's client is
// configured with; the platform_* and pubkey_private.pem files are WeChat's secrets.
const (
	filePlatformKey   = "platform_key.pem"
	filePlatformCert  = "platform_cert.pem"
	filePubKeyPrivate = "pubkey_private.pem"
	FilePubKey        = "pub_key.pem"    // the WeChat Pay public key, for the merchant
	FilePubKeyID      = "pub_key_id.txt" // its ID, for the merchant
	FilePlatformCert  = filePlatformCert
	FileMerchantKey   = "apiclient_key.pem"
	FileMerchantCert  = "apiclient_cert.pem"
	FileAPIv3Key      = "apiv3_key.txt"
	FileMchID         = "mchid.txt"
)

// LoadOrCreateKeys reads platform and merchant key material from dir, creating
// whatever is missing (first start of `tandem dev` or `tandem wxsim`).
func LoadOrCreateKeys(dir, mchID string) (*PlatformKeys, *MerchantKeys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	p, err := loadPlatformKeys(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if p, err = GeneratePlatformKeys(); err == nil {
			err = savePlatformKeys(dir, p)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("wxsim keys in %s: platform: %w", dir, err)
	}
	m, err := loadMerchantKeys(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if m, err = GenerateMerchantKeys(mchID); err == nil {
			err = saveMerchantKeys(dir, m)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("wxsim keys in %s: merchant: %w", dir, err)
	}
	return p, m, nil
}

func savePlatformKeys(dir string, p *PlatformKeys) error {
	return writeFiles(dir, map[string][]byte{
		filePlatformKey:   keyPEM(p.CertKey),
		filePlatformCert:  certPEM(p.Cert),
		filePubKeyPrivate: keyPEM(p.PubKeyKey),
		FilePubKey:        publicKeyPEM(&p.PubKeyKey.PublicKey),
		FilePubKeyID:      []byte(p.PublicKeyID + "\n"),
	})
}

func saveMerchantKeys(dir string, m *MerchantKeys) error {
	return writeFiles(dir, map[string][]byte{
		FileMerchantKey:  keyPEM(m.Key),
		FileMerchantCert: certPEM(m.Cert),
		FileAPIv3Key:     []byte(m.APIv3Key + "\n"),
		FileMchID:        []byte(m.MchID + "\n"),
	})
}

func loadPlatformKeys(dir string) (*PlatformKeys, error) {
	var p PlatformKeys
	var err error
	if p.CertKey, err = readKey(filepath.Join(dir, filePlatformKey)); err != nil {
		return nil, err
	}
	if p.Cert, err = readCert(filepath.Join(dir, filePlatformCert)); err != nil {
		return nil, err
	}
	if p.PubKeyKey, err = readKey(filepath.Join(dir, filePubKeyPrivate)); err != nil {
		return nil, err
	}
	if p.PublicKeyID, err = readText(filepath.Join(dir, FilePubKeyID)); err != nil {
		return nil, err
	}
	return &p, nil
}

func loadMerchantKeys(dir string) (*MerchantKeys, error) {
	var m MerchantKeys
	var err error
	if m.Key, err = readKey(filepath.Join(dir, FileMerchantKey)); err != nil {
		return nil, err
	}
	if m.Cert, err = readCert(filepath.Join(dir, FileMerchantCert)); err != nil {
		return nil, err
	}
	if m.APIv3Key, err = readText(filepath.Join(dir, FileAPIv3Key)); err != nil {
		return nil, err
	}
	if m.MchID, err = readText(filepath.Join(dir, FileMchID)); err != nil {
		return nil, err
	}
	return &m, nil
}

func writeFiles(dir string, files map[string][]byte) error {
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func keyPEM(k *rsa.PrivateKey) []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(k) // cannot fail for an RSA key
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func publicKeyPEM(k *rsa.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func readPEM(path string) (*pem.Block, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return block, nil
}

func readKey(path string) (*rsa.PrivateKey, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA key", path)
	}
	return rk, nil
}

func readCert(path string) (*x509.Certificate, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(block.Bytes)
}

func readText(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}
