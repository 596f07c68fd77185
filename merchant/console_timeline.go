package merchant

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/web"
)

// timelineRow is a lead's timeline entry as its reader reads it: what happened in their
// language (the API's Text is English) and who did it, by name.
type timelineRow struct {
	Kind string
	At   time.Time
	Text string
	By   string
}

// timelineRows words entries for v's reader. Names come from one read of the staff;
// without it (no staff port, or it failed) the rows say what happened without who.
func (pg leadPages) timelineRows(ctx context.Context, v *web.View, entries []TimelineEntry) []timelineRow {
	var ids []uuid.UUID
	for _, e := range entries {
		ids = append(ids, e.By)
		if o, ok := e.Detail.(OwnerChange); ok && o.To != nil {
			ids = append(ids, *o.To)
		}
	}
	names := map[uuid.UUID]StaffMember{}
	if pg.svc.staff != nil && len(ids) > 0 {
		if found, err := pg.svc.staff.StaffMembers(ctx, ids); err == nil {
			names = found
		}
	}
	name := func(id uuid.UUID) string { return names[id].Name }
	out := make([]timelineRow, len(entries))
	for i, e := range entries {
		out[i] = timelineRow{Kind: e.Kind, At: e.At, Text: timelineText(v, e, name), By: name(e.By)}
	}
	return out
}

// timelineText is what an entry says in v's language: the system's reasons from their
// codes and parameters, never from their English wording; what people typed (reasons,
// notes) is shown as they typed it.
func timelineText(v *web.View, e TimelineEntry, name func(uuid.UUID) string) string {
	withReason := func(text, reason string) string {
		if reason == "" {
			return text
		}
		return text + v.T("leads.tl_reason", "Reason", reason)
	}
	switch d := e.Detail.(type) {
	case StageChange:
		if d.From == nil {
			return stageLabel(v, d.To) // a new lead's first stage: the owner entry beside it says how it came
		}
		stage := v.T("leads.tl_stage", "From", stageLabel(v, *d.From), "To", stageLabel(v, d.To))
		if e.ReasonCode != "" {
			return withReason(stage, reasonText(v, e.ReasonCode, e.Params, ""))
		}
		return withReason(stage, d.Reason)
	case OwnerChange:
		to := ""
		if d.To != nil {
			to = name(*d.To)
		}
		if e.ReasonCode != "" {
			return reasonText(v, e.ReasonCode, e.Params, to)
		}
		return withReason(v.T("leads.tl_owner_"+d.Event, "To", to), d.Reason)
	case FollowUp:
		text := withReason(v.T("leads.channel_"+d.Channel), d.Note)
		if d.NextStep != "" {
			text += v.T("leads.tl_next_step", "Step", d.NextStep)
		}
		return text
	case Visit:
		key := "leads.tl_check_in"
		if !d.Accepted {
			key = "leads.tl_check_in_refused"
		}
		return withReason(v.T(key, "M", fmt.Sprintf("%.0f", d.DistanceM)), d.Note)
	}
	return e.Text
}

// reasonText says a system reason in v's language ("leads.tl_reason_<code>"), its
// parameters by their names and To, the new owner's name, filled in.
func reasonText(v *web.View, code ReasonCode, params map[string]string, to string) string {
	args := []any{"To", to}
	for k, p := range params {
		args = append(args, k, p)
	}
	return v.T("leads.tl_reason_"+string(code), args...)
}
