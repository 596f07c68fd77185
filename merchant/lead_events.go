package merchant

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// Leads are published as shops for matching (events.TopicLeadCreated, …Edited, …Archived
// and one events.TopicLeadsImported per batch of an import), in the transaction that
// changes them, so matching keeps its own record of every shop without reading ours.

// leadChanged is what a lead says of the shop it is.
func leadChanged(l merchantdb.MerchantLead) events.LeadChanged {
	return events.LeadChanged{LeadID: l.ID, Name: l.Name, Category: l.Category, City: l.City, Lat: l.Lat, Lng: l.Lng,
		Phone: l.Phone, LicenceNo: deref(l.LicenceNo), Archived: Stage(l.Stage) == StageLost, At: l.UpdatedAt.UTC()}
}

// publishLead publishes l's facts under topic in tx.
func publishLead(ctx context.Context, tx pgx.Tx, topic events.Topic, l merchantdb.MerchantLead) error {
	if _, err := outbox.Publish(ctx, tx, topic, l.ID.String(), leadChanged(l)); err != nil {
		return fmt.Errorf("merchant: publish %s: %w", topic, err)
	}
	return nil
}

// publishStage publishes a move to lost as archived, and back from lost as an edit;
// the other moves change nothing matching compares.
func publishStage(ctx context.Context, tx pgx.Tx, l merchantdb.MerchantLead, from Stage) error {
	switch {
	case Stage(l.Stage) == StageLost && from != StageLost:
		return publishLead(ctx, tx, events.TopicLeadArchived, l)
	case from == StageLost && Stage(l.Stage) != StageLost:
		return publishLead(ctx, tx, events.TopicLeadEdited, l)
	}
	return nil
}

// publishImported publishes the leads a chunk of an import made (in the file's order)
// in batches of events.LeadsImportedBatch, numbered from first: the rows already in
// hand, not read back from the leads table.
func publishImported(ctx context.Context, tx pgx.Tx, importID uuid.UUID, first int, leads []events.LeadChanged) error {
	for batch := first; len(leads) > 0; batch++ {
		n := min(len(leads), events.LeadsImportedBatch)
		e := events.LeadsImported{ImportID: importID, Batch: batch, Leads: leads[:n]}
		if _, err := outbox.Publish(ctx, tx, events.TopicLeadsImported, importID.String(), e); err != nil {
			return fmt.Errorf("merchant: publish %s: %w", events.TopicLeadsImported, err)
		}
		leads = leads[n:]
	}
	return nil
}

// DedupThresholds are lead dedup's: a similar name is at least nameSimilarity alike
// (pg_trgm) within radiusM metres. Matching compares its record of shops by them.
func (s *Service) DedupThresholds() (radiusM, nameSimilarity float64) {
	return s.cfg.DedupRadiusM, s.cfg.DedupSimilarity
}
