package merchant

import (
	"context"
	"fmt"
	"time"

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

// publishImported publishes the leads an import made in batches of
// events.LeadsImportedBatch, in the file's order, from the import's staging table
// (import_rows, holding by now exactly the rows made leads, at): the rows already in
// hand, read once through a cursor, not read back from the leads table.
func publishImported(ctx context.Context, tx pgx.Tx, importID uuid.UUID, at time.Time) error {
	if _, err := tx.Exec(ctx, `DECLARE imported NO SCROLL CURSOR FOR
SELECT id, name, category, city, lat, lng, phone, coalesce(licence_no, '') FROM import_rows ORDER BY row`); err != nil {
		return fmt.Errorf("merchant: imported leads: %w", err)
	}
	for batch := 0; ; batch++ {
		rows, err := tx.Query(ctx, fmt.Sprintf(`FETCH %d FROM imported`, events.LeadsImportedBatch))
		if err != nil {
			return fmt.Errorf("merchant: imported leads: %w", err)
		}
		leads, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.LeadChanged, error) {
			l := events.LeadChanged{At: at.UTC()}
			return l, r.Scan(&l.LeadID, &l.Name, &l.Category, &l.City, &l.Lat, &l.Lng, &l.Phone, &l.LicenceNo)
		})
		if err != nil {
			return fmt.Errorf("merchant: imported leads: %w", err)
		}
		if len(leads) == 0 {
			break
		}
		e := events.LeadsImported{ImportID: importID, Batch: batch, Leads: leads}
		if _, err := outbox.Publish(ctx, tx, events.TopicLeadsImported, importID.String(), e); err != nil {
			return fmt.Errorf("merchant: publish %s: %w", events.TopicLeadsImported, err)
		}
	}
	_, err := tx.Exec(ctx, `CLOSE imported`)
	return err
}

// DedupThresholds are lead dedup's: a similar name is at least nameSimilarity alike
// (pg_trgm) within radiusM metres. Matching compares its record of shops by them.
func (s *Service) DedupThresholds() (radiusM, nameSimilarity float64) {
	return s.cfg.DedupRadiusM, s.cfg.DedupSimilarity
}
