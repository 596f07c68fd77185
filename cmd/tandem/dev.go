package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

func devCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "dev",
		Short: "Everything in one process on a local PostgreSQL and Redis it starts under ./var",
		Long: `Starts (or reuses) the local PostgreSQL and Redis under TANDEM_VAR_DIR, migrates,
loads the demo data, and runs the API, the console, the worker, the scheduler and the
outbox relay in this one process. Ctrl-C stops everything, including the servers it
started (servers that were already running are left running). This is what 'make run'
runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			log, err := newLogger(cfg)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(cfg.VarDir, 0o755); err != nil {
				return err
			}
			unlock, err := devLock(cfg.VarDir)
			if err != nil {
				return err
			}
			defer unlock()
			ln, err := listen(cfg.HTTPAddr)
			if err != nil {
				return err
			}
			defer ln.Close()

			ctx := cmd.Context()
			stack, err := localStack(cfg)
			if err != nil {
				return err
			}
			started, err := stack.Start(ctx)
			// Whatever happens next, stop what this process started, and only that.
			defer func() {
				if err := stack.Stop(context.Background(), &started); err != nil {
					log.Error("stopping the local stack", "err", err)
				}
			}()
			if err != nil {
				return err
			}
			cfg.DatabaseURL, cfg.RedisURL = stack.DatabaseURL(), stack.RedisURL()
			a, err := openApp(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer a.Close()
			if err := pg.Migrate(ctx, a.db, migrationSets()...); err != nil {
				return err
			}
			// The WeChat Pay simulator plays WeChat for the demo: its own schema, its own
			// listener (the client redirects the API host to it), dev keys under ./var.
			sim, simHandler, dev, err := wxsim.Dev(ctx, cfg.VarDir, a.db, a.clock, log)
			if err != nil {
				return fmt.Errorf("WeChat Pay simulator: %w", err)
			}
			defer sim.Close()
			simLn, err := listen(cfg.WxsimAddr)
			if err != nil {
				return err
			}
			simSrv := &http.Server{Handler: simHandler, ReadHeaderTimeout: 10 * time.Second}
			go func() { _ = simSrv.Serve(simLn) }()
			defer simSrv.Close()
			simURL := "http://" + simLn.Addr().String()
			a.cfg.WxpayKeys, a.cfg.WxpayBaseURL, a.cfg.WxpayAppID = dev.KeysDir, simURL, dev.Account.AppID
			// It plays WeChat's mini-program sign-in too.
			a.cfg.WxminiBaseURL, a.cfg.WxminiSecret = simURL, wxsim.DevAppSecret
			if a.cfg.WebhookAllow == "" { // demo merchants' webhooks run on this machine
				a.cfg.WebhookAllow = "loopback"
			}
			a.cfg.HTTPAddr = ln.Addr().String()
			if err := a.openPayments(ctx); err != nil {
				return err
			}
			demo, err := a.seedDemo(ctx)
			if err != nil {
				return fmt.Errorf("demo data: %w", err)
			}
			g, gctx := errgroup.WithContext(ctx)
			g.Go(func() error { return a.serveHTTP(gctx, ln) })
			g.Go(func() error { return a.runBackground(gctx, "all") })
			// The demo consumer pays two orders (one of two lines) at the demo merchant through the simulator,
			// whose notification reaches the API just started: the whole payment path.
			g.Go(func() error {
				if _, err := billing.Demo(gctx, a.billing, demo.consumerID, demo.merchantID, simURL); err != nil && gctx.Err() == nil {
					log.Error("demo payment", "err", err)
				}
				return nil
			})
			printBanner(cmd, "http://"+ln.Addr().String(), simURL, demo.logins)
			err = g.Wait()
			log.Info("stopped")
			return err
		},
	}
}

func printBanner(cmd *cobra.Command, base, sim string, logins []demoLogin) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nTandem is running at %s\n", base)
	fmt.Fprintf(&b, "  health   %s/readyz   metrics %s/metrics   API doc %s/api/openapi.yaml\n", base, base, base)
	fmt.Fprintf(&b, "  WeChat Pay simulator %s (control API %s/sim/)\n", sim, sim)
	if len(logins) > 0 {
		fmt.Fprintf(&b, "  demo logins (role, login, password):\n")
		for _, l := range logins {
			fmt.Fprintf(&b, "    %-20s %-28s %s\n", l.Role, l.Login, l.Password)
		}
	}
	fmt.Fprintf(&b, "Press Ctrl-C to stop.\n\n")
	fmt.Fprint(cmd.OutOrStdout(), b.String())
}

// devLock makes a second `tandem dev` on the same var directory fail with a clear
// message instead of fighting the first over ports and data.
func devLock(varDir string) (func(), error) {
	path := filepath.Join(varDir, "dev.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another 'tandem dev' (pid %s) is already running from %s: stop it with Ctrl-C, or use another TANDEM_VAR_DIR and ports",
				strings.TrimSpace(string(b)), varDir)
		}
		return nil, err
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
