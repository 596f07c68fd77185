package matching

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/tandemcrm/tandem/shared/domain"
)

// commands are matching's command-line commands: `tandem matching <name>`.
func (s *Service) commands() []domain.Command {
	return []domain.Command{
		{Name: "backfill-shops", Short: "Record every lead and merchant merchant has as a shop, and match them (once, after an upgrade)",
			Long: `Asks merchant for every lead (live or not, lost ones too) as it stands, a page at a
time, and records each in matching's own record of shops as the lead events do: the
newest facts win by the lead's time, a live shop keeps its merchant and links its owner
to their member, and each shop is matched with the others (pairs alike enough wait in
门店匹配 / Shop matches). Run it once on a deployment whose leads existed before
matching kept its own record of shops; running it again, or while the events flow,
changes nothing already known.

Exit status: 0 recorded; 1 it could not read or record a page (the pages before stay).`,
			Flags: func(fs *pflag.FlagSet) { fs.Int("page-size", 500, "shops read and recorded per transaction") },
			Run: func(ctx context.Context, in domain.CommandInput) error {
				size, err := in.Flags.GetInt("page-size")
				if err != nil {
					return err
				}
				res, err := s.BackfillShops(ctx, size)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(in.Out, "shops recorded: %d (%d live) in %d pages; shop matches now: %d; took %s\n",
					res.Shops, res.Live, res.Pages, res.Matches, res.Took.Round(time.Millisecond))
				return err
			}},
		{Name: "rebuild", Short: "Recompute every consumer's recommendations now (what the worker's " + TaskRebuild + " does nightly)",
			Run: func(ctx context.Context, in domain.CommandInput) error {
				st, err := s.Rebuild(ctx)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(in.Out, "recommendations: %d for %d consumers over %d merchants; load %s, model %s, write %s\n",
					st.Recommendations, st.Consumers, st.Merchants, st.Load.Round(time.Millisecond), st.Model.Round(time.Millisecond),
					st.Write.Round(time.Millisecond))
				return err
			}},
	}
}
