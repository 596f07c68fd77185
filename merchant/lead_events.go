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

// publishImported publishes the leads an import made (ids, in the file's order) in
// batches of events.LeadsImportedBatch.
func publishImported(ctx context.Context, tx pgx.Tx, importID uuid.UUID, ids []uuid.UUID) error {
	q := merchantdb.New(tx)
	for batch, start := 0, 0; start < len(ids); batch, start = batch+1, start+events.LeadsImportedBatch {
		part := ids[start:min(start+events.LeadsImportedBatch, len(ids))]
		rows, err := q.LeadsByIDs(ctx, part)
		if err != nil {
			return fmt.Errorf("merchant: imported leads: %w", err)
		}
		byID := make(map[uuid.UUID]merchantdb.MerchantLead, len(rows))
		for _, r := range rows {
			byID[r.ID] = r
		}
		e := events.LeadsImported{ImportID: importID, Batch: batch, Leads: make([]events.LeadChanged, 0, len(part))}
		for _, id := range part {
			if l, ok := byID[id]; ok {
				e.Leads = append(e.Leads, leadChanged(l))
			}
		}
		if _, err := outbox.Publish(ctx, tx, events.TopicLeadsImported, importID.String(), e); err != nil {
			return fmt.Errorf("merchant: publish %s: %w", events.TopicLeadsImported, err)
		}
	}
	return nil
}

// DedupThresholds are lead dedup's: a similar name is at least nameSimilarity alike
// (pg_trgm) within radiusM metres. Matching compares its record of shops by them.
func (s *Service) DedupThresholds() (radiusM, nameSimilarity float64) {
	return s.cfg.DedupRadiusM, s.cfg.DedupSimilarity
}
