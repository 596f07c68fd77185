package audit

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
)

// CSVHeader is the header row of an export.
func CSVHeader() []string {
	return []string{"id", "at", "actor_id", "actor_login", "action", "object_type", "object_id", "request_id", "ip", "before", "after"}
}

// CSVRecord is the entry as an export row. Cells a spreadsheet would run as a formula
// are prefixed with a quote.
func (e Entry) CSVRecord() []string {
	actor := ""
	if e.ActorID != nil {
		actor = e.ActorID.String()
	}
	rec := []string{e.ID.String(), e.At.UTC().Format(time.RFC3339), actor, e.ActorLogin, e.Action, e.ObjectType,
		e.ObjectID, e.RequestID, e.IP, string(e.Before), string(e.After)}
	for i, s := range rec {
		rec[i] = SafeCell(s)
	}
	return rec
}

// SafeCell defuses a CSV cell that spreadsheets would evaluate (=, +, -, @, tab, CR).
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// ParseFilter reads a filter from query parameters: actor, action, object_type,
// object_id, since and until (RFC 3339, or a date taken in Asia/Shanghai), cursor, limit.
func ParseFilter(v url.Values) (Filter, error) {
	f := Filter{Actor: strings.TrimSpace(v.Get("actor")), Action: strings.TrimSpace(v.Get("action")),
		ObjectType: strings.TrimSpace(v.Get("object_type")), ObjectID: strings.TrimSpace(v.Get("object_id"))}
	var err error
	if f.Since, err = parseTime(v.Get("since"), false); err != nil {
		return f, errs.Invalidf("since", "since is a date (2006-01-02) or a time (RFC 3339)")
	}
	if f.Until, err = parseTime(v.Get("until"), true); err != nil {
		return f, errs.Invalidf("until", "until is a date (2006-01-02) or a time (RFC 3339)")
	}
	if c := v.Get("cursor"); c != "" {
		if f.Before, err = uuid.Parse(c); err != nil {
			return f, errs.Invalidf("cursor", "the cursor is the next_cursor of a previous page")
		}
	}
	if l := v.Get("limit"); l != "" {
		if f.Limit, err = strconv.Atoi(l); err != nil || f.Limit < 1 {
			return f, errs.Invalidf("limit", "limit is a whole number from 1 to 500")
		}
	}
	return f, nil
}

// parseTime reads an RFC 3339 time or a date; a date as an end bound means the end of
// that day.
func parseTime(s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, time.FixedZone("CST", 8*3600))
	if err != nil {
		return time.Time{}, fmt.Errorf("audit: time %q: %w", s, err)
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}
