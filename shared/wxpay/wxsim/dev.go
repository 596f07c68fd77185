package wxsim

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// The development merchant: the mchid and appid of WeChat's documentation examples.
const (
	DevMchID = "1900000001"
	DevAppID = "wxd678efh567hg6787"
)

// DevAccount is what Tandem's client needs to talk to a development simulator.
type DevAccount struct {
	// Account is configured with both the platform certificate and the WeChat Pay
	// public key, as during a switch: the client verifies with the combined
	// verifier and the simulator signs notifications with either at random.
	Account wxpay.Account
	// KeysDir holds the same material as files (wxpay.AccountFiles).
	KeysDir string
}

// Files names the account's files in KeysDir, for configuration by path.
func (d DevAccount) Files() wxpay.AccountFiles {
	return wxpay.AccountFiles{
		MchID: d.Account.MchID, AppID: d.Account.AppID,
		PrivateKeyFile:    filepath.Join(d.KeysDir, FileMerchantKey),
		MerchantCertFile:  filepath.Join(d.KeysDir, FileMerchantCert),
		APIv3KeyFile:      filepath.Join(d.KeysDir, FileAPIv3Key),
		PlatformCertFiles: []string{filepath.Join(d.KeysDir, FilePlatformCert)},
		PublicKeyID:       d.Account.PublicKeyID,
		PublicKeyFile:     filepath.Join(d.KeysDir, FilePubKey),
	}
}

// Dev starts the simulator in-process for `tandem dev`: keys under varDir/wxsim
// (generated on first start, reused after), the wxsim schema migrated on pool,
// the control API on, refunds settled at once, notification retries 100 times
// faster than WeChat's. Mount the handler at the simulator's base URL and give
// the client wxpay.WithBaseURL(that URL). Call Sim.Close on shutdown.
func Dev(ctx context.Context, varDir string, pool *pgxpool.Pool, clk *clock.Settable, logger *slog.Logger) (*Sim, http.Handler, DevAccount, error) {
	dir := filepath.Join(varDir, "wxsim")
	platform, merchant, err := LoadOrCreateKeys(dir, DevMchID)
	if err != nil {
		return nil, nil, DevAccount{}, err
	}
	if err := pg.Migrate(ctx, pool, Migrations); err != nil {
		return nil, nil, DevAccount{}, fmt.Errorf("wxsim: migrate: %w", err)
	}
	sim, err := New(pool, platform, Config{Control: true, AutoSettleRefunds: true, NotifyScale: 0.01, Clock: clk}, logger)
	if err != nil {
		return nil, nil, DevAccount{}, err
	}
	if err := sim.AddMerchant(MerchantFromKeys(merchant, KeyModeSwitch, DevAppID)); err != nil {
		return nil, nil, DevAccount{}, err
	}
	acct := AccountFor(platform, merchant, DevAppID)
	return sim, sim.Handler(), DevAccount{Account: acct, KeysDir: dir}, nil
}

// AccountFor is the client configuration of a merchant of this simulator, with
// both of WeChat's verification keys (combined verifier).
func AccountFor(p *PlatformKeys, m *MerchantKeys, appID string) wxpay.Account {
	return wxpay.Account{
		MchID: m.MchID, AppID: appID, CertSerial: m.CertSerial(), PrivateKey: m.Key, APIv3Key: m.APIv3Key,
		PlatformCerts: []*x509.Certificate{p.Cert}, PublicKeyID: p.PublicKeyID, PublicKey: &p.PubKeyKey.PublicKey,
	}
}
