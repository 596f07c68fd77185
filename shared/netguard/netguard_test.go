package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/shared/netguard"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	none := netguard.MustParse("")
	for addr, ok := range map[string]bool{
		"8.8.8.8": true, "2606:4700::1111": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "0.0.0.0": false, "::": false, "100.64.0.1": false,
		"224.0.0.1": false, "::ffff:127.0.0.1": false, "fd00::1": false,
	} {
		err := none.Check(netip.MustParseAddr(addr))
		if (err == nil) != ok {
			t.Errorf("%s: err %v, want allowed=%v", addr, err, ok)
		}
		if err != nil && !errors.Is(err, netguard.ErrForbidden) {
			t.Errorf("%s: %v is not ErrForbidden", addr, err)
		}
	}
	dev := netguard.MustParse("loopback, 10.0.0.0/8")
	for _, addr := range []string{"127.0.0.1", "::1", "10.9.9.9"} {
		if err := dev.Check(netip.MustParseAddr(addr)); err != nil {
			t.Errorf("allowed %s refused: %v", addr, err)
		}
	}
	if err := dev.Check(netip.MustParseAddr("169.254.169.254")); err == nil {
		t.Error("metadata address allowed by loopback,10/8")
	}
	if _, err := netguard.Parse("loopback,nonsense"); err == nil {
		t.Error("nonsense parsed")
	}
}

// The client refuses to dial a loopback server unless loopback is allowed, by the
// address dialled: a name resolving to it (localhost) is refused just the same.
func TestClientDialsOnlyAllowedAddresses(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, url := range []string{srv.URL, "http://localhost:" + p} {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", url, nil)
		_, err := netguard.MustParse("").Client(time.Second).Do(req)
		if !errors.Is(err, netguard.ErrForbidden) {
			t.Fatalf("%s with nothing allowed: %v, want ErrForbidden", url, err)
		}
	}
	res, err := netguard.MustParse("loopback").Client(time.Second).Get(srv.URL)
	if err != nil || res.StatusCode != 204 {
		t.Fatalf("loopback allowed: %v %v", res, err)
	}
	res.Body.Close()
}
