package main

import (
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"
)

func outboxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "The outbox's deliveries: what every subscriber has done, and putting back what asynq lost",
	}
	var after time.Duration
	redrive := &cobra.Command{
		Use:   "redrive",
		Short: "Enqueue again every delivery not done whose task asynq no longer has (the worker also does it every TANDEM_OUTBOX_REDRIVE_AFTER/2)",
		Long: `Looks at every (event, subscriber) not done for longer than --after, asks asynq about its
task, and enqueues again those asynq has lost (Redis lost its data). Tasks asynq still holds,
waiting, running or retrying, are left alone; so are those it gave up on after its last
retry (see /admin/queues). Handlers are idempotent and skip events already done, so
running it any number of times, beside running workers, never doubles an effect.
Database-only subscribers (delivered in batches from PostgreSQL, never through asynq)
have nothing to re-drive: their deliveries put off after failures are made due again
and run here once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openWithPayments(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			a.cfg.RedriveAfter = max(after, time.Nanosecond) // 0: everything not done (0 would mean the default)
			client := asynq.NewClient(a.queue)
			defer client.Close()
			r, closeRedriver := a.redriver(client, a.subscriptions())
			defer closeRedriver()
			res, err := r.RedriveOnce(cmd.Context())
			if err != nil {
				return err
			}
			// Batched subscribers need no broker: what failed and was put off is tried
			// again now, here, beside the workers' dispatchers (SKIP LOCKED).
			d := a.dispatcher(a.subscriptions())
			putOff, err := d.RetryNow(cmd.Context())
			if err != nil {
				return err
			}
			ran, err := d.Drain(cmd.Context())
			if err != nil {
				return err
			}
			u, err := a.outboxMetrics.Undelivered(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "checked %d, re-driven %d, given up by asynq %d; batched: %d put off tried again, %d run here; not done now %d (oldest %.0f s)\n",
				res.Checked, res.Redriven, res.Dead, putOff, ran, u.Count, u.OldestSeconds)
			return nil
		},
	}
	redrive.Flags().DurationVar(&after, "after", 10*time.Second, "look at deliveries not done for at least this long")
	cmd.AddCommand(redrive)
	return cmd
}
