package wxsim_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/wxpay"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

// TestDev: `tandem dev` gets a working simulator and an account for it; the
// keys are made on the first start and reused on the next.
func TestDev(t *testing.T) {
	ctx := context.Background()
	varDir := t.TempDir()
	pool := pgtest.New(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sim, handler, dev, err := wxsim.Dev(ctx, varDir, pool, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	srv := httptest.NewServer(handler)
	defer srv.Close()

	for _, acct := range []func() (wxpay.Account, error){
		func() (wxpay.Account, error) { return dev.Account, nil },
		func() (wxpay.Account, error) { return wxpay.LoadAccount(dev.Files()) },
	} {
		a, err := acct()
		if err != nil {
			t.Fatal(err)
		}
		c, err := wxpay.New(ctx, a, wxpay.WithBaseURL(srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.PrepayNative(ctx, wxpay.Order{Description: "demo", OutTradeNo: "TD" + a.CertSerial[:10],
			NotifyURL: "https://tandem.example/notify", Total: 100}); err != nil {
			t.Fatal(err)
		}
	}

	sim2, _, again, err := wxsim.Dev(ctx, varDir, pool, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	sim2.Close()
	if again.Account.CertSerial != dev.Account.CertSerial || again.Account.PublicKeyID != dev.Account.PublicKeyID ||
		again.Account.APIv3Key != dev.Account.APIv3Key {
		t.Fatal("keys were not reused")
	}
}
