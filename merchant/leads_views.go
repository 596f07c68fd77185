package merchant

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Saved views (我的视图): a user's named lead lists, filters and sort, their own only.
// A view keeps what to ask, not what was found: opened later it lists the leads its
// owner may see then.

// ViewFilters are a saved view's filters and sort, named as the lead list's query
// parameters.
type ViewFilters struct {
	Q          string `json:"q,omitempty"`
	Stage      string `json:"stage,omitempty"`
	Level      string `json:"level,omitempty"`
	Sort       string `json:"sort,omitempty"`
	Held       bool   `json:"held,omitempty"`
	Pool       bool   `json:"pool,omitempty"`
	HandedOver bool   `json:"handed_over,omitempty"`
}

// Filter is the view as ListLeads takes it.
func (v ViewFilters) Filter() LeadFilter {
	return LeadFilter{Query: v.Q, Stage: Stage(v.Stage), Level: v.Level, Sort: v.Sort, HeldOnly: v.Held, PoolOnly: v.Pool, HandedOver: v.HandedOver}
}

// Query is the view as the console's lead list's query string.
func (v ViewFilters) Query() string {
	q := url.Values{}
	for k, val := range map[string]string{"q": v.Q, "stage": v.Stage, "level": v.Level, "sort": v.Sort} {
		if val != "" {
			q.Set(k, val)
		}
	}
	for k, on := range map[string]bool{"held": v.Held, "pool": v.Pool, "handed_over": v.HandedOver} {
		if on {
			q.Set(k, "true")
		}
	}
	return q.Encode()
}

// SavedView is one of a user's views.
type SavedView struct {
	ID        uuid.UUID   `json:"id"`
	Name      string      `json:"name"`
	Filters   ViewFilters `json:"filters"`
	CreatedAt time.Time   `json:"created_at"`
}

func viewOf(r merchantdb.MerchantSavedView) SavedView {
	v := SavedView{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt.UTC()}
	_ = json.Unmarshal(r.Filters, &v.Filters)
	return v
}

// MaxSavedViews is how many views a user keeps.
const MaxSavedViews = 50

// SavedViews lists the caller's views by name.
func (s *Service) SavedViews(ctx context.Context, p *identity.Principal) ([]SavedView, error) {
	if err := principal(p); err != nil {
		return nil, err
	}
	if _, err := p.Require(identity.PermLeadRead); err != nil {
		return nil, err
	}
	rows, err := merchantdb.New(s.db).ListSavedViews(ctx, p.User.ID)
	if err != nil {
		return nil, fmt.Errorf("merchant: views: %w", pg.Classify(err))
	}
	out := make([]SavedView, len(rows))
	for i, r := range rows {
		out[i] = viewOf(r)
	}
	return out, nil
}

// SaveView keeps the filters under a name, replacing the caller's view of that name.
// The filters are checked as the lead list checks them.
func (s *Service) SaveView(ctx context.Context, p *identity.Principal, name string, f ViewFilters) (SavedView, error) {
	if err := principal(p); err != nil {
		return SavedView{}, err
	}
	if _, err := p.Require(identity.PermLeadRead); err != nil {
		return SavedView{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 50 {
		return SavedView{}, errs.Invalidf("name", "a view's name has 1 to 50 characters")
	}
	lf := f.Filter()
	lf.Limit = 1
	if _, _, err := s.ListLeads(ctx, p, lf); err != nil {
		return SavedView{}, err
	}
	q := merchantdb.New(s.db)
	existing, err := q.ListSavedViews(ctx, p.User.ID)
	if err != nil {
		return SavedView{}, fmt.Errorf("merchant: save view: %w", pg.Classify(err))
	}
	if len(existing) >= MaxSavedViews {
		replacing := false
		for _, e := range existing {
			replacing = replacing || e.Name == name
		}
		if !replacing {
			return SavedView{}, errs.Invalidf("name", "at most %d views; delete one first", MaxSavedViews)
		}
	}
	b, _ := json.Marshal(f)
	row, err := q.UpsertSavedView(ctx, merchantdb.UpsertSavedViewParams{ID: newID(), UserID: p.User.ID, Name: name, Filters: b, CreatedAt: s.now()})
	if err != nil {
		return SavedView{}, fmt.Errorf("merchant: save view: %w", pg.Classify(err))
	}
	return viewOf(row), nil
}

// GetView returns one of the caller's views; another user's is "not found".
func (s *Service) GetView(ctx context.Context, p *identity.Principal, id uuid.UUID) (SavedView, error) {
	if err := principal(p); err != nil {
		return SavedView{}, err
	}
	row, err := merchantdb.New(s.db).GetSavedView(ctx, merchantdb.GetSavedViewParams{ID: id, UserID: p.User.ID})
	if err != nil {
		return SavedView{}, notFound(err, "merchant.view")
	}
	return viewOf(row), nil
}

// DeleteView removes one of the caller's views.
func (s *Service) DeleteView(ctx context.Context, p *identity.Principal, id uuid.UUID) error {
	if err := principal(p); err != nil {
		return err
	}
	n, err := merchantdb.New(s.db).DeleteSavedView(ctx, merchantdb.DeleteSavedViewParams{ID: id, UserID: p.User.ID})
	if err != nil {
		return fmt.Errorf("merchant: delete view: %w", pg.Classify(err))
	}
	if n == 0 {
		return errs.NotFound("merchant.view")
	}
	return nil
}
