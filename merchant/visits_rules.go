package merchant

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
)

// FieldRules are the rules of field work (visits and uploads).
type FieldRules struct {
	// MaxAccuracyM: a check-in whose reported accuracy (the phone's radius of
	// uncertainty) is worse than this is refused: the rep is asked to wait for a fix.
	// Default 100 m.
	MaxAccuracyM float64
	// MaxSpeedKmh: a check-in reached from the rep's previous one faster than this is
	// flagged (not refused) for the manager. Default 120 km/h.
	MaxSpeedKmh float64
	// PhotoMaxBytes and DocumentMaxBytes limit one uploaded file. The API's body limit
	// (TANDEM_BODY_LIMIT, 1 MiB by default) bounds them too; the console's phone page
	// shrinks photos before sending. Default 1,000,000 bytes each.
	PhotoMaxBytes    int64
	DocumentMaxBytes int64
	// PhotosPerVisit caps the photos of one visit. Default 9 (a WeChat moment's grid).
	PhotosPerVisit int
}

func (r FieldRules) withDefaults() FieldRules {
	if r.MaxAccuracyM <= 0 {
		r.MaxAccuracyM = 100
	}
	if r.MaxSpeedKmh <= 0 {
		r.MaxSpeedKmh = 120
	}
	if r.PhotoMaxBytes <= 0 {
		r.PhotoMaxBytes = 1_000_000
	}
	if r.DocumentMaxBytes <= 0 {
		r.DocumentMaxBytes = 1_000_000
	}
	if r.PhotosPerVisit <= 0 {
		r.PhotosPerVisit = 9
	}
	return r
}

// Notifier tells a user something (a visit reminder): the message channel the product
// uses (WeChat Work, SMS, the app's push). Declared here, adapted in cmd/tandem.
type Notifier interface {
	Notify(ctx context.Context, userID uuid.UUID, title, body, link string) error
}

// LogNotifier writes notifications to the log: the channel where none is configured.
type LogNotifier struct{ Log *slog.Logger }

// Notify logs the notification.
func (n LogNotifier) Notify(ctx context.Context, userID uuid.UUID, title, body, link string) error {
	n.Log.InfoContext(ctx, "notification", "user", userID, "title", title, "body", body, "link", link)
	return nil
}
