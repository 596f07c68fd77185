package audit

import (
	"context"
	"fmt"

	"github.com/tandemcrm/tandem/shared/audit/internal/auditdb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// ObjectHistory reads, in the caller's transaction, the newest entries (at most limit)
// about one object whose action starts with actionPrefix, whoever acted: for code that
// decides by what it recorded before (shared/mergefollow: what a domain moved for a
// merge), not for people, who read through Log and its scope.
func ObjectHistory(ctx context.Context, db auditdb.DBTX, objectType, objectID, actionPrefix string, limit int) ([]Entry, error) {
	rows, err := auditdb.New(db).ListEntries(ctx, auditdb.ListEntriesParams{ScopeAll: true, ScopeOwnerIds: nil, ScopeOrgUnitIds: nil,
		ScopeMerchantIds: nil, Action: opt(actionPrefix), ObjectType: opt(objectType), ObjectID: opt(objectID), MaxRows: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("audit: history of %s %s: %w", objectType, objectID, pg.Classify(err))
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = Entry{ID: r.ID, At: r.At.UTC(), ActorLogin: r.ActorLogin, Action: r.Action, ObjectType: r.ObjectType,
			ObjectID: r.ObjectID, Before: r.Before, After: r.After, RequestID: r.RequestID, IP: r.Ip}
	}
	return out, nil
}
