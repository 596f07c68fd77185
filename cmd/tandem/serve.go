package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

func serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API (/api/v1), the console, /healthz, /readyz and /metrics",
		Long: `Serves the HTTP API and the web console on TANDEM_HTTP_ADDR. Stateless: run as many
replicas as needed behind a load balancer. It does not migrate; run 'tandem migrate' first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openWithPayments(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			ln, err := listen(a.cfg.HTTPAddr)
			if err != nil {
				return err
			}
			return a.serveHTTP(cmd.Context(), ln)
		},
	}
}

// listen opens the HTTP port first, so a port in use fails at once with a clear line.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (%s): is another Tandem running? set TANDEM_HTTP_ADDR to a free address", addr, oneLine(err))
	}
	return ln, nil
}

// serveHTTP serves until ctx ends, then drains requests for up to ShutdownTimeout.
func (a *app) serveHTTP(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.router(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	// The identity service keeps its token cache and rate counts in step with the other
	// replicas while this serves (PostgreSQL LISTEN, Redis flushes).
	idctx, stopIdentity := context.WithCancel(context.WithoutCancel(ctx))
	idDone := make(chan struct{})
	go func() { defer close(idDone); _ = a.identity.Run(idctx) }()
	defer func() { stopIdentity(); <-idDone }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if a.cfg.PprofAddr != "" {
		stop, err := servePprof(a.cfg.PprofAddr)
		if err != nil {
			return err
		}
		defer stop()
	}
	a.log.Info("serving HTTP", "addr", "http://"+ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
