package wxsim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/shared/pg"
)

// Command is `tandem wxsim`: serve the simulator, and `tandem wxsim bill` to
// write synthetic bills. logger may be nil (text on standard error).
func Command(logger *slog.Logger) *cobra.Command {
	var (
		listen, dbURL, keysDir, mchID, appID, keyMode, feeRate, appSecret string
		control, autoSettle, feesAccount                                  bool
		notifyScale                                                       float64
	)
	cmd := &cobra.Command{
		Use:   "wxsim",
		Short: "Run the WeChat Pay v3 simulator (merchant API, notifications, bills)",
		Long: `Run a stand-in for WeChat Pay's merchant API v3 that the real wechatpay-go client
talks to: every request's signature is verified (401 SIGN_ERROR otherwise), every answer
is signed with the platform certificate or the WeChat Pay public key, notifications are
AEAD_AES_256_GCM-encrypted and retried on WeChat's schedule, and trade and fund-flow
bills are written from the simulator's own record (PostgreSQL schema wxsim).

Endpoints: POST /v3/pay/transactions/jsapi and /native, GET .../out-trade-no/{no}
and .../id/{id}, POST .../out-trade-no/{no}/close, POST and GET
/v3/refund/domestic/refunds, GET /v3/bill/tradebill, /v3/bill/fundflowbill and the
unsigned /v3/billdownload/file; and the mini-program's GET /sns/jscode2session, for
codes from POST /sim/login (secret: --app-secret).

Keys live in --keys (created on first start): the merchant's apiclient_key.pem,
apiclient_cert.pem, apiv3_key.txt, mchid.txt, and WeChat's platform_cert.pem,
pub_key.pem and pub_key_id.txt for the client; platform_key.pem and
pubkey_private.pem are WeChat's secrets. Point the client at the simulator with
wxpay.WithBaseURL("http://<listen>").

` + ControlHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := logger
			if log == nil {
				log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			}
			return serve(cmd.Context(), log, serveOptions{
				listen: listen, dbURL: dbURL, keysDir: keysDir, mchID: mchID, appID: appID,
				mode: KeyMode(keyMode), cfg: Config{Control: control, AutoSettleRefunds: autoSettle,
					FeesAccount: feesAccount, FeeRate: feeRate, NotifyScale: notifyScale, AppSecret: appSecret},
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", envOr("TANDEM_WXSIM_LISTEN", "127.0.0.1:8091"), "address to listen on ($TANDEM_WXSIM_LISTEN)")
	f.StringVar(&dbURL, "db", envOr("TANDEM_WXSIM_DATABASE_URL", envOr("TANDEM_DATABASE_URL",
		"postgres://tandem@127.0.0.1:54329/tandem?sslmode=disable")),
		"PostgreSQL URL; the simulator keeps its record in schema wxsim ($TANDEM_WXSIM_DATABASE_URL, else $TANDEM_DATABASE_URL)")
	f.StringVar(&keysDir, "keys", envOr("TANDEM_WXSIM_KEYS", "./var/wxsim"), "keys directory, created on first start ($TANDEM_WXSIM_KEYS)")
	f.StringVar(&mchID, "mchid", DevMchID, "merchant number of the merchant whose keys are in --keys")
	f.StringVar(&appID, "appid", DevAppID, "appid bound to that merchant")
	f.StringVar(&appSecret, "app-secret", envOr("TANDEM_WXSIM_APP_SECRET", DevAppSecret), "the mini-program's app secret /sns/jscode2session accepts ($TANDEM_WXSIM_APP_SECRET)")
	f.StringVar(&keyMode, "key-mode", string(KeyModeSwitch), "what signs notifications: cert, publickey, or switch (either at random)")
	f.BoolVar(&control, "control", false, "enable the control API under /sim/")
	f.BoolVar(&autoSettle, "auto-settle-refunds", true, "refunds go PROCESSING -> SUCCESS at once (else via /sim/refunds/settle)")
	f.BoolVar(&feesAccount, "fees-account", false, "book fees in the FEES account instead of BASIC")
	f.StringVar(&feeRate, "fee-rate", "0.60%", "WeChat's fee rate on payments")
	f.Float64Var(&notifyScale, "notify-scale", 1, "multiply the notification retry schedule (0.01: 15s becomes 150ms)")
	cmd.AddCommand(billCommand())
	return cmd
}

type serveOptions struct {
	listen, dbURL, keysDir, mchID, appID string
	mode                                 KeyMode
	cfg                                  Config
}

func serve(ctx context.Context, log *slog.Logger, o serveOptions) error {
	switch o.mode {
	case KeyModeCert, KeyModePublicKey, KeyModeSwitch:
	default:
		return fmt.Errorf("--key-mode %q: want cert, publickey or switch", o.mode)
	}
	platform, merchant, err := LoadOrCreateKeys(o.keysDir, o.mchID)
	if err != nil {
		return err
	}
	pool, err := pg.Connect(ctx, o.dbURL, pg.PoolConfig{MaxConns: 8, AppName: "tandem-wxsim"})
	if err != nil {
		return fmt.Errorf("wxsim: database: %w", err)
	}
	defer pool.Close()
	if err := pg.Migrate(ctx, pool, Migrations); err != nil {
		return fmt.Errorf("wxsim: migrate: %w", err)
	}
	sim, err := New(pool, platform, o.cfg, log)
	if err != nil {
		return err
	}
	defer sim.Close()
	if err := sim.AddMerchant(MerchantFromKeys(merchant, o.mode, o.appID)); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Info("wxsim listening", "addr", ln.Addr().String(), "mchid", merchant.MchID, "keys", o.keysDir,
		"control", o.cfg.Control, "public_key_id", platform.PublicKeyID, "platform_serial", platform.CertSerial())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

func billCommand() *cobra.Command {
	var (
		o             SynthOptions
		out, ledgerTo string
	)
	cmd := &cobra.Command{
		Use:   "bill --date D --lines N [--type ALL|SUCCESS|REFUND] [--gzip] [--out FILE] [--ledger FILE]",
		Short: "Write a synthetic trade bill in WeChat's format (no database or keys needed)",
		Long: `Write a synthetic trade bill of N detail lines in WeChat Pay's published format,
exactly as the simulator serves bills: backtick-prefixed values, yuan with two decimals,
fees with five, refunds as their own lines with negative fees, summary lines, a leading
BOM and CRLF line ends unless --no-bom / --lf. In ALL bills every tenth line is a refund.
The SHA1 of the uncompressed bill (what WeChat announces as hash_value) is printed on
standard error. --ledger writes the matching ledger as CSV for the reconciliation
benchmark: kind,out_trade_no,transaction_id,out_refund_no,refund_id,amount_fen,fee_fen,occurred_at.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Date == "" || o.Lines < 0 {
				return errors.New("--date is required and --lines must not be negative")
			}
			w, closeOut, err := createOr(out, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			closeLedger := func() error { return nil }
			if ledgerTo != "" {
				var lw io.Writer
				if lw, closeLedger, err = createOr(ledgerTo, nil); err != nil {
					return err
				}
				o.Ledger = lw
			}
			res, err := WriteSyntheticBill(w, o)
			if err := errors.Join(err, closeOut(), closeLedger()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "lines=%d sha1=%s\n", res.Lines, res.SHA1)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Date, "date", "", "bill date, yyyy-MM-dd (Asia/Shanghai)")
	f.IntVar(&o.Lines, "lines", 1000, "number of detail lines")
	f.StringVar(&o.Type, "type", "ALL", "bill type: ALL, SUCCESS or REFUND")
	f.BoolVar(&o.Gzip, "gzip", false, "gzip the output (the SHA1 is of the uncompressed bill)")
	f.StringVar(&out, "out", "", "output file (default standard output)")
	f.StringVar(&ledgerTo, "ledger", "", "also write the matching ledger CSV to this file")
	f.Uint64Var(&o.Seed, "seed", 1, "random seed (same seed, same bill)")
	f.StringVar(&o.FeeRate, "fee-rate", "0.60%", "fee rate")
	f.StringVar(&o.MchID, "mchid", DevMchID, "merchant number in the bill")
	f.StringVar(&o.AppID, "appid", DevAppID, "appid in the bill")
	f.BoolVar(&o.NoBOM, "no-bom", false, "omit the leading UTF-8 BOM")
	f.BoolVar(&o.LF, "lf", false, "end lines with LF instead of CRLF")
	return cmd
}

// createOr opens path for writing (buffered), or uses def when path is empty.
// The returned close flushes and closes.
func createOr(path string, def io.Writer) (io.Writer, func() error, error) {
	if path == "" {
		bw := bufio.NewWriterSize(def, 1<<20)
		return bw, bw.Flush, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	return bw, func() error {
		if err := bw.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
