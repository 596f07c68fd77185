package merchant

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// LeadPatch is an edit of a lead's details; nil fields stay as they are.
type LeadPatch struct {
	Name      *string  `json:"name"`
	Category  *string  `json:"category"`
	Address   *string  `json:"address"`
	Lat       *float64 `json:"lat"`
	Lng       *float64 `json:"lng"`
	Phone     *string  `json:"phone"`
	City      *string  `json:"city"`
	LicenceNo *string  `json:"licence_no"` // "" clears it
	Level     *string  `json:"level"`      // A-Z, "" for none
}

// EditLead changes the details of a lead the caller may work (merchant.lead.write in
// scope), with the same validation and dedup as a create (the lead itself excepted);
// the change is audited with the values before and after.
func (s *Service) EditLead(ctx context.Context, p *identity.Principal, id uuid.UUID, patch LeadPatch) (Lead, error) {
	if err := principal(p); err != nil {
		return Lead{}, err
	}
	var out Lead
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, err := writable(ctx, q, p, identity.PermLeadWrite, id)
		if err != nil {
			return err
		}
		in := NewLead{Name: l.Name, Category: l.Category, Address: l.Address, Lat: l.Lat, Lng: l.Lng, Phone: l.PhoneRaw, City: l.City,
			LicenceNo: deref(l.LicenceNo)}
		set(&in.Name, patch.Name)
		set(&in.Category, patch.Category)
		set(&in.Address, patch.Address)
		set(&in.Lat, patch.Lat)
		set(&in.Lng, patch.Lng)
		set(&in.Phone, patch.Phone)
		set(&in.City, patch.City)
		set(&in.LicenceNo, patch.LicenceNo)
		if err := in.validate(); err != nil {
			return err
		}
		level := l.Level
		if patch.Level != nil {
			if level, err = normalizeLevel(*patch.Level); err != nil {
				return err
			}
		}
		phone, err := normalizePhone(in.Phone)
		if err != nil {
			return err
		}
		var licence *string
		if strings.TrimSpace(in.LicenceNo) != "" {
			lic, err := NormalizeLicence(in.LicenceNo)
			if err != nil {
				return err
			}
			licence = &lic
		}
		dups, err := s.findDuplicates(ctx, tx, candidate{phone: phone, licence: deref(licence), name: in.Name, lat: in.Lat, lng: in.Lng, exclude: l.ID})
		if err != nil {
			return err
		}
		if len(dups) > 0 {
			return duplicateError(dups[0])
		}
		row, err := q.UpdateLeadDetails(ctx, merchantdb.UpdateLeadDetailsParams{ID: l.ID, Name: in.Name, Category: in.Category,
			Address: in.Address, Lat: in.Lat, Lng: in.Lng, PhoneRaw: strings.TrimSpace(in.Phone), Phone: phone, City: in.City,
			LicenceNo: licence, Level: level, At: s.now()})
		if err != nil {
			return err
		}
		out = leadView(p, row)
		if err := publishLead(ctx, tx, events.TopicLeadEdited, row); err != nil {
			return err
		}
		return record(ctx, tx, p, "merchant.lead.edit", "merchant.lead", l.ID, details(l), details(row))
	})
	if pg.IsUniqueViolation(err, "leads_phone_key") || pg.IsUniqueViolation(err, "leads_licence_key") {
		return Lead{}, duplicateError(Duplicate{Reason: DupPhone}) // the holder is not read inside a failed transaction
	}
	if err != nil {
		return Lead{}, fmt.Errorf("merchant: edit lead: %w", pg.Classify(err))
	}
	return out, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// details are the audited fields of a lead.
func details(l merchantdb.MerchantLead) map[string]any {
	return map[string]any{"name": l.Name, "category": l.Category, "address": l.Address, "lat": l.Lat, "lng": l.Lng,
		"phone": l.PhoneRaw, "city": l.City, "licence_no": deref(l.LicenceNo), "level": l.Level}
}

// TimelineEntry is one thing that happened to a lead. A client shows it from Kind,
// ReasonCode, Params and Detail in its reader's language; Text is the English sentence.
type TimelineEntry struct {
	Kind string    `json:"kind"` // stage, owner, follow_up, check_in
	At   time.Time `json:"at"`
	By   uuid.UUID `json:"by"`
	Text string    `json:"text"` // what happened, in English
	// ReasonCode is why a stage or owner change happened when the system made it
	// (history_reasons.go), with its Params; empty when a person gave the reason
	// (Detail's reason) and for follow-ups and check-ins.
	ReasonCode ReasonCode        `json:"reason_code,omitempty"`
	Params     map[string]string `json:"params,omitempty"`
	Detail     any               `json:"detail"` // the entry itself
}

// Timeline is a lead's follow-ups, check-ins, stage and owner changes, newest first,
// for whoever may read the lead.
func (s *Service) Timeline(ctx context.Context, p *identity.Principal, id uuid.UUID) ([]TimelineEntry, error) {
	stages, err := s.StageHistory(ctx, p, id)
	if err != nil {
		return nil, err
	}
	owners, err := s.OwnerHistory(ctx, p, id)
	if err != nil {
		return nil, err
	}
	q := merchantdb.New(s.db)
	fus, err := q.ListFollowUps(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("merchant: timeline: %w", pg.Classify(err))
	}
	visits, err := q.ListVisits(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("merchant: timeline: %w", pg.Classify(err))
	}
	var out []TimelineEntry
	for _, st := range stages {
		text := "stage " + string(st.To)
		if st.From != nil {
			text = fmt.Sprintf("stage %s → %s", *st.From, st.To)
		}
		if st.Reason != "" {
			text += ": " + st.Reason
		}
		out = append(out, TimelineEntry{Kind: "stage", At: st.At, By: st.By, Text: text, ReasonCode: st.ReasonCode, Params: st.ReasonParams, Detail: st})
	}
	for _, o := range owners {
		out = append(out, TimelineEntry{Kind: "owner", At: o.At, By: o.By, Text: o.Event + ": " + o.Reason, ReasonCode: o.ReasonCode, Params: o.ReasonParams, Detail: o})
	}
	for _, f := range fus {
		fu := FollowUp{ID: f.ID, LeadID: f.LeadID, Channel: f.Channel, Note: f.Note, NextStep: f.NextStep, By: f.ByUser, At: f.At.UTC()}
		out = append(out, TimelineEntry{Kind: "follow_up", At: fu.At, By: fu.By, Text: f.Channel + ": " + f.Note, Detail: fu})
	}
	for _, v := range visits {
		vi := Visit{ID: v.ID, LeadID: v.LeadID, Lat: v.Lat, Lng: v.Lng, DistanceM: v.DistanceM, Accepted: v.Accepted, Note: v.Note, By: v.ByUser, At: v.At.UTC()}
		text := fmt.Sprintf("check-in %.0f m from the shop", v.DistanceM)
		if !v.Accepted {
			text += " (refused)"
		}
		out = append(out, TimelineEntry{Kind: "check_in", At: vi.At, By: vi.By, Text: text, Detail: vi})
	}
	slices.SortStableFunc(out, func(a, b TimelineEntry) int { return b.At.Compare(a.At) })
	return out, nil
}
