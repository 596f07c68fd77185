package main

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/shared/pg"
)

// benchBareCmd is `tandem bench bare`: the yardstick for Tandem's authenticated read.
// It serves GET /users/:id with nothing but gin and one pgx primary-key lookup of the
// same row (no middleware, no authentication, no scope), so that make bench can print
// Tandem's throughput as a share of what the same machine does with no platform at all.
func benchBareCmd() *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "bare",
		Short: "Serve a bare gin + pgx primary-key lookup of a user (the yardstick of the authenticated read)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := pg.Connect(ctx, cfg.DatabaseURL, pg.PoolConfig{MaxConns: int32(cfg.DBMaxConns), AppName: "tandem-bare"})
			if err != nil {
				return err
			}
			defer db.Close()
			gin.SetMode(gin.ReleaseMode)
			e := gin.New()
			e.GET("/users/:id", func(c *gin.Context) {
				id, err := uuid.Parse(c.Param("id"))
				if err != nil {
					c.Status(http.StatusNotFound)
					return
				}
				var u struct {
					ID          uuid.UUID `json:"id"`
					Login       string    `json:"login"`
					DisplayName string    `json:"display_name"`
					Kind        string    `json:"kind"`
					CreatedAt   time.Time `json:"created_at"`
				}
				err = db.QueryRow(c.Request.Context(),
					"SELECT id, login, display_name, kind, created_at FROM identity.users WHERE id = $1", id).
					Scan(&u.ID, &u.Login, &u.DisplayName, &u.Kind, &u.CreatedAt)
				if errors.Is(err, pgx.ErrNoRows) {
					c.Status(http.StatusNotFound)
					return
				}
				if err != nil {
					c.Status(http.StatusInternalServerError)
					return
				}
				b, _ := json.Marshal(u)
				c.Data(http.StatusOK, "application/json; charset=utf-8", b)
			})
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
			go func() { <-ctx.Done(); _ = srv.Close() }()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:18081", "loopback address to listen on")
	return cmd
}
