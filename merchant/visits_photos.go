package merchant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/storage"
)

// Photo is a visit's photo (the storefront, the menu, the rep with the owner), kept
// in shared/storage under a key of our making.
type Photo struct {
	ID          uuid.UUID `json:"id"`
	VisitID     uuid.UUID `json:"visit_id"`
	ContentType string    `json:"content_type"`
	SizeBytes   int64     `json:"size_bytes"`
	SHA256      string    `json:"sha256"`
	By          uuid.UUID `json:"by"`
	At          time.Time `json:"at"`
	URL         string    `json:"url"` // the API path that serves it to those who may see the visit
}

func photoOf(r merchantdb.MerchantVisitPhoto) Photo {
	return Photo{ID: r.ID, VisitID: r.VisitID, ContentType: r.ContentType, SizeBytes: r.SizeBytes, SHA256: r.Sha256,
		By: r.ByUser, At: r.At.UTC(), URL: "/api/v1/merchant/photos/" + r.ID.String()}
}

// Codes of photo uploads (besides shared/storage's).
const (
	CodeTooManyPhotos = "merchant.too_many_photos"
	CodeNoStorage     = "merchant.storage_unset"
)

func (s *Service) store() (storage.Store, error) {
	if s.files == nil {
		return nil, errs.E(errs.KindUnavailable, CodeNoStorage, "file storage is not configured")
	}
	return s.files, nil
}

// AddVisitPhoto keeps a photo of one of the caller's own visits. The type is sniffed
// from the content (JPEG, PNG, WebP, HEIC); too large, another type, or a program
// under a photo's name is refused naming the field "photo". The same photo twice is
// kept once; a visit holds at most FieldRules.PhotosPerVisit.
func (s *Service) AddVisitPhoto(ctx context.Context, p *identity.Principal, visitID uuid.UUID, r io.Reader) (Photo, error) {
	if err := principal(p); err != nil {
		return Photo{}, err
	}
	if _, err := p.Require(identity.PermVisitWrite); err != nil {
		return Photo{}, err
	}
	st, err := s.store()
	if err != nil {
		return Photo{}, err
	}
	v, err := merchantdb.New(s.db).GetVisit(ctx, visitID)
	if err != nil {
		return Photo{}, notFound(err, "merchant.visit")
	}
	if v.ByUser != p.User.ID || !v.Accepted {
		return Photo{}, errs.NotFound("merchant.visit")
	}
	up, err := storage.Check("photo", r, s.cfg.Field.PhotoMaxBytes, storage.Images)
	if err != nil {
		return Photo{}, err
	}
	key := fmt.Sprintf("merchant/visits/%s/%s%s", v.ID, up.SHA256, up.Ext)
	// The file first, then its row: a row never names a missing file. A file whose
	// row is refused is removed unless a row already names it (the same photo).
	if err := st.Put(ctx, key, up.Reader(), up.Size(), up.ContentType); err != nil {
		return Photo{}, fmt.Errorf("merchant: photo: %w", err)
	}
	var out Photo
	kept := false
	err = s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		if _, err := q.GetVisitForUpdate(ctx, v.ID); err != nil {
			return err
		}
		if old, err := q.GetVisitPhotoBySum(ctx, merchantdb.GetVisitPhotoBySumParams{VisitID: v.ID, Sha256: up.SHA256}); err == nil {
			out, kept = photoOf(old), true
			return nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		n, err := q.CountVisitPhotos(ctx, v.ID)
		if err != nil {
			return err
		}
		if n >= int64(s.cfg.Field.PhotosPerVisit) {
			return &errs.Error{Kind: errs.KindConflict, Code: CodeTooManyPhotos, Field: "photo",
				Message: fmt.Sprintf("a visit keeps at most %d photos", s.cfg.Field.PhotosPerVisit)}
		}
		row := merchantdb.MerchantVisitPhoto{ID: newID(), VisitID: v.ID, StorageKey: key, ContentType: up.ContentType,
			SizeBytes: up.Size(), Sha256: up.SHA256, ByUser: p.User.ID, At: s.now()}
		if _, err := q.InsertVisitPhoto(ctx, merchantdb.InsertVisitPhotoParams(row)); err != nil {
			return err
		}
		out, kept = photoOf(row), true
		return nil
	})
	if !kept {
		if derr := st.Delete(ctx, key); derr != nil {
			s.log.WarnContext(ctx, "refused photo left in storage", "key", key, "err", derr)
		}
	}
	if err != nil {
		return Photo{}, fmt.Errorf("merchant: photo: %w", pg.Classify(err))
	}
	return out, nil
}

// OpenPhoto reads a visit photo for whoever may see the visit: its rep, and the
// managers whose scope covers the rep or the lead's team. The caller closes it.
func (s *Service) OpenPhoto(ctx context.Context, p *identity.Principal, id uuid.UUID) (Photo, io.ReadCloser, error) {
	if err := principal(p); err != nil {
		return Photo{}, nil, err
	}
	st, err := s.store()
	if err != nil {
		return Photo{}, nil, err
	}
	q := merchantdb.New(s.db)
	ph, err := q.GetVisitPhoto(ctx, id)
	if err != nil {
		return Photo{}, nil, notFound(err, "merchant.photo")
	}
	v, err := q.GetVisit(ctx, ph.VisitID)
	if err != nil {
		return Photo{}, nil, notFound(err, "merchant.photo")
	}
	row := identity.Row{Owner: v.ByUser, OrgUnit: v.OrgUnitID.UUID}
	if v.ByUser != p.User.ID && !p.Scope(identity.PermVisitWrite).Allows(row) && !p.Scope(identity.PermLeadRead).Allows(row) {
		return Photo{}, nil, errs.NotFound("merchant.photo")
	}
	rc, err := st.Open(ctx, ph.StorageKey)
	if err != nil {
		return Photo{}, nil, fmt.Errorf("merchant: photo %s: %w", id, err)
	}
	return photoOf(ph), rc, nil
}

// photosOf attaches the photos of visits.
func (s *Service) photosOf(ctx context.Context, q *merchantdb.Queries, visits []Visit) error {
	if len(visits) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(visits))
	at := map[uuid.UUID]int{}
	for i, v := range visits {
		ids[i], at[v.ID] = v.ID, i
	}
	rows, err := q.ListVisitPhotos(ctx, ids)
	if err != nil {
		return fmt.Errorf("merchant: photos: %w", pg.Classify(err))
	}
	for _, r := range rows {
		i := at[r.VisitID]
		visits[i].Photos = append(visits[i].Photos, photoOf(r))
	}
	return nil
}
