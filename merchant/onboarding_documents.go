package merchant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/storage"
)

// Onboarding documents: the files of a category's checklist (licence, food licence,
// the legal representative's ID, the bank account, storefront photos), uploaded by
// the rep while the application is theirs to change, read by the reviewer.

// DocumentFile is one uploaded file of a checklist item.
type DocumentFile struct {
	ID          uuid.UUID `json:"id"`
	Key         string    `json:"key"`
	FileName    string    `json:"file_name"`
	ContentType string    `json:"content_type"`
	SizeBytes   int64     `json:"size_bytes"`
	SHA256      string    `json:"sha256"`
	By          uuid.UUID `json:"by"`
	At          time.Time `json:"at"`
	URL         string    `json:"url"`
}

func documentFileOf(d merchantdb.MerchantOnboardingDocument) DocumentFile {
	return DocumentFile{ID: d.ID, Key: d.DocKey, FileName: d.FileName, ContentType: d.ContentType, SizeBytes: d.SizeBytes,
		SHA256: d.Sha256, By: d.ByUser, At: d.At.UTC(), URL: "/api/v1/merchant/documents/" + d.ID.String()}
}

// Codes of document uploads.
const (
	CodeDocumentKey    = "merchant.document_key"
	CodeDocumentsFull  = "merchant.documents_full"
	CodeDocumentsState = "merchant.documents_locked"
	filesPerDocument   = 6
)

// documentsEditable refuses changes to the documents of an application that is with
// the reviewer's approval or at WeChat: the rep changes them before submitting, while
// it is under review, or after a change was requested or it was rejected.
func documentsEditable(ctx context.Context, q *merchantdb.Queries, l merchantdb.MerchantLead) error {
	st := Stage(l.Stage)
	if st != StageSigned && st != StageOnboarding {
		return &errs.Error{Kind: errs.KindConflict, Code: CodeDocumentsState, Field: "stage",
			Message: fmt.Sprintf("documents are uploaded for a signed shop, not a %s one", st)}
	}
	o, err := q.GetOnboarding(ctx, l.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.Review == string(ReviewApproved) || o.BusinessCode != nil {
		return &errs.Error{Kind: errs.KindConflict, Code: CodeDocumentsState, Field: "state",
			Message: "the application was approved and went to WeChat; its documents no longer change"}
	}
	return nil
}

// AddDocument keeps a file of a lead's checklist (doc_key): a photo or a PDF, the
// type sniffed from the content, at most FieldRules.DocumentMaxBytes. The same file
// under the same key twice is kept once.
func (s *Service) AddDocument(ctx context.Context, p *identity.Principal, leadID uuid.UUID, docKey, fileName string, r io.Reader) (DocumentFile, error) {
	if err := principal(p); err != nil {
		return DocumentFile{}, err
	}
	st, err := s.store()
	if err != nil {
		return DocumentFile{}, err
	}
	q := merchantdb.New(s.db)
	l, err := q.GetLead(ctx, leadID)
	if err != nil {
		return DocumentFile{}, notFound(err, "merchant.lead")
	}
	if !slices.ContainsFunc(checklist(l.Category), func(d Document) bool { return d.Key == docKey }) {
		return DocumentFile{}, &errs.Error{Kind: errs.KindInvalid, Code: CodeDocumentKey, Field: "doc_key",
			Message: fmt.Sprintf("doc_key %q is not on the checklist of a %s shop", docKey, l.Category)}
	}
	up, err := storage.Check("file", r, s.cfg.Field.DocumentMaxBytes, storage.Documents)
	if err != nil {
		return DocumentFile{}, err
	}
	fileName = strings.TrimSpace(path.Base(strings.ReplaceAll(fileName, "\\", "/")))
	if fileName == "" || fileName == "." || fileName == "/" || len([]rune(fileName)) > 200 {
		fileName = docKey + up.Ext
	}
	key := fmt.Sprintf("merchant/onboarding/%s/%s/%s%s", leadID, docKey, up.SHA256, up.Ext)
	if err := st.Put(ctx, key, up.Reader(), up.Size(), up.ContentType); err != nil {
		return DocumentFile{}, fmt.Errorf("merchant: document: %w", err)
	}
	var out DocumentFile
	kept := false
	err = s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, err := writable(ctx, q, p, identity.PermLeadWrite, leadID)
		if err != nil {
			return err
		}
		if err := documentsEditable(ctx, q, l); err != nil {
			return err
		}
		if old, err := q.GetDocumentBySum(ctx, merchantdb.GetDocumentBySumParams{LeadID: l.ID, DocKey: docKey, Sha256: up.SHA256}); err == nil {
			if old.RemovedAt != nil {
				if old, err = q.RestoreDocument(ctx, old.ID); err != nil {
					return err
				}
			}
			out, kept = documentFileOf(old), true
			return nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		n, err := q.CountDocuments(ctx, merchantdb.CountDocumentsParams{LeadID: l.ID, DocKey: docKey})
		if err != nil {
			return err
		}
		if n >= filesPerDocument {
			return &errs.Error{Kind: errs.KindConflict, Code: CodeDocumentsFull, Field: "file",
				Message: fmt.Sprintf("%s holds at most %d files; remove one first", docKey, filesPerDocument)}
		}
		row := merchantdb.MerchantOnboardingDocument{ID: newID(), LeadID: l.ID, DocKey: docKey, StorageKey: key, FileName: fileName,
			ContentType: up.ContentType, SizeBytes: up.Size(), Sha256: up.SHA256, ByUser: p.User.ID, At: s.now()}
		if _, err := q.InsertDocument(ctx, merchantdb.InsertDocumentParams{ID: row.ID, LeadID: row.LeadID, DocKey: row.DocKey,
			StorageKey: row.StorageKey, FileName: row.FileName, ContentType: row.ContentType, SizeBytes: row.SizeBytes,
			Sha256: row.Sha256, ByUser: row.ByUser, At: row.At}); err != nil {
			return err
		}
		out, kept = documentFileOf(row), true
		return record(ctx, tx, p, "merchant.onboarding.document_add", "merchant.lead", l.ID, nil, out)
	})
	if !kept {
		if derr := st.Delete(ctx, key); derr != nil {
			s.log.WarnContext(ctx, "refused document left in storage", "key", key, "err", derr)
		}
	}
	if err != nil {
		return DocumentFile{}, fmt.Errorf("merchant: document: %w", pg.Classify(err))
	}
	return out, nil
}

// RemoveDocument takes a file off a lead's checklist (kept in storage, for the audit).
func (s *Service) RemoveDocument(ctx context.Context, p *identity.Principal, docID uuid.UUID) error {
	if err := principal(p); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		d, err := q.GetDocument(ctx, docID)
		if err != nil {
			return notFound(err, "merchant.document")
		}
		l, err := writable(ctx, q, p, identity.PermLeadWrite, d.LeadID)
		if err != nil {
			return err
		}
		if err := documentsEditable(ctx, q, l); err != nil {
			return err
		}
		if n, err := q.RemoveDocument(ctx, merchantdb.RemoveDocumentParams{ID: d.ID, RemovedAt: ptrTime(s.now())}); err != nil {
			return err
		} else if n == 0 {
			return errs.NotFound("merchant.document")
		}
		return record(ctx, tx, p, "merchant.onboarding.document_remove", "merchant.lead", l.ID, documentFileOf(d), nil)
	})
	if err != nil {
		return fmt.Errorf("merchant: remove document: %w", pg.Classify(err))
	}
	return nil
}

// Documents is a lead's checklist with its files, for whoever may read the lead (the
// rep, their managers, the reviewer once it is in onboarding).
func (s *Service) Documents(ctx context.Context, p *identity.Principal, leadID uuid.UUID) ([]Document, error) {
	lead, err := s.GetLead(ctx, p, leadID)
	if err != nil {
		return nil, err
	}
	return s.documentsOf(ctx, merchantdb.New(s.db), lead)
}

func (s *Service) documentsOf(ctx context.Context, q *merchantdb.Queries, lead Lead) ([]Document, error) {
	rows, err := q.ListDocuments(ctx, lead.ID)
	if err != nil {
		return nil, fmt.Errorf("merchant: documents: %w", pg.Classify(err))
	}
	docs := checklist(lead.Category)
	for i := range docs {
		docs[i].Files = []DocumentFile{}
		for _, r := range rows {
			if r.DocKey == docs[i].Key {
				docs[i].Files = append(docs[i].Files, documentFileOf(r))
			}
		}
		docs[i].Missing = docs[i].Required && len(docs[i].Files) == 0
	}
	return docs, nil
}

// OpenDocument reads a document's file for whoever may read its lead.
func (s *Service) OpenDocument(ctx context.Context, p *identity.Principal, id uuid.UUID) (DocumentFile, io.ReadCloser, error) {
	st, err := s.store()
	if err != nil {
		return DocumentFile{}, nil, err
	}
	d, err := merchantdb.New(s.db).GetDocument(ctx, id)
	if err != nil {
		return DocumentFile{}, nil, notFound(err, "merchant.document")
	}
	if _, err := s.GetLead(ctx, p, d.LeadID); err != nil {
		if errs.KindOf(err) == errs.KindNotFound {
			return DocumentFile{}, nil, errs.NotFound("merchant.document")
		}
		return DocumentFile{}, nil, err
	}
	rc, err := st.Open(ctx, d.StorageKey)
	if err != nil {
		return DocumentFile{}, nil, fmt.Errorf("merchant: document %s: %w", id, err)
	}
	return documentFileOf(d), rc, nil
}
