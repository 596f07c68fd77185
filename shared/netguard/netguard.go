// Package netguard keeps outgoing calls to addresses given by users (merchants' webhook
// URLs) away from the platform's own network: loopback, private, link-local (the cloud
// metadata service at 169.254.169.254), unspecified and multicast addresses are refused
// unless configuration allows them. The check runs on the address actually dialled,
// after name resolution, so a name that resolves to 127.0.0.1 (or changes its answer
// between a check and the call, DNS rebinding) gets no further than an IP literal.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrForbidden is the error of a refused address (wrapped with the address).
var ErrForbidden = errors.New("address not allowed")

// Allow is the set of otherwise refused addresses a configuration lets through.
type Allow struct {
	prefixes []netip.Prefix
}

// Named sets of addresses Parse accepts besides CIDRs.
var named = map[string][]string{
	"loopback":   {"127.0.0.0/8", "::1/128"},
	"private":    {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"},
	"link-local": {"169.254.0.0/16", "fe80::/10"},
}

// Parse reads a comma-separated list of CIDRs, addresses and the names loopback,
// private and link-local (TANDEM_WEBHOOK_ALLOW_NETS). Empty allows nothing extra.
func Parse(list string) (Allow, error) {
	var a Allow
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		cidrs, ok := named[item]
		if !ok {
			cidrs = []string{item}
		}
		for _, c := range cidrs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				addr, aerr := netip.ParseAddr(c)
				if aerr != nil {
					return Allow{}, fmt.Errorf("%q: want a CIDR, an address, loopback, private or link-local", item)
				}
				p = netip.PrefixFrom(addr, addr.BitLen())
			}
			a.prefixes = append(a.prefixes, p.Masked())
		}
	}
	return a, nil
}

// MustParse is Parse for constants (tests, tandem dev).
func MustParse(list string) Allow {
	a, err := Parse(list)
	if err != nil {
		panic(err)
	}
	return a
}

// Check refuses addr when it is not a public unicast address and the allow list does
// not name it.
func (a Allow) Check(addr netip.Addr) error {
	addr = addr.Unmap()
	if public(addr) {
		return nil
	}
	for _, p := range a.prefixes {
		if p.Contains(addr) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is not a public address", ErrForbidden, addr)
}

func public(a netip.Addr) bool {
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() &&
		!netip.MustParsePrefix("100.64.0.0/10").Contains(a) // carrier-grade NAT: not the internet either
}

// Client is an HTTP client that dials only addresses a allows, with the given time-out
// for a whole call. It follows no redirects: a redirect could point anywhere, and a
// merchant's endpoint has no reason to send one.
func (a Allow) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrForbidden, address)
		}
		return a.Check(ap.Addr())
	}}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil // a proxy would dial for us, unchecked
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, addr)
	}
	return &http.Client{Timeout: timeout, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
