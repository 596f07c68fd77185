package web

import (
	"encoding/csv"
	"io"
	"net/url"
	"strings"

	"github.com/tandemcrm/tandem/shared/audit"
)

// The list component: one definition of a list's columns serves the HTML table, the
// filter form, "load more" paging and the CSV export, for every list in the console.

// Column is one column of a list of T: its header (a catalogue key) and its cell.
type Column[T any] struct {
	Header string
	Cell   func(T) string
	// Link, when set, makes the cell a link.
	Link func(T) string
	// Title, when set, is the cell's hover text: what the cell stands for in full
	// (a merchant's id under its name).
	Title func(T) string
	// Sort, when set, makes the header a link that sorts the list by this key
	// (?sort=key ascending, ?sort=-key descending); the handler reads SortOf.
	Sort string
}

// Header is a list's column header as the template shows it.
type Header struct {
	Label string // catalogue key
	Href  string // "" when the column does not sort
	Dir   string // "asc" or "desc" when the list is sorted by this column
}

// SortOf reads a list's ?sort= parameter: the key and whether it is descending.
// A key not in allowed is ignored (the list's default order), so a crafted URL
// cannot reach a column that has no index.
func SortOf(q url.Values, allowed ...string) (key string, desc bool) {
	s := q.Get("sort")
	desc = strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for _, a := range allowed {
		if a == s {
			return s, desc
		}
	}
	return "", false
}

// Filter is one field of a list's filter form.
type Filter struct {
	Name    string   // query parameter
	Label   string   // catalogue key
	Type    string   // text, date, select
	Value   string   // current value
	Options []Option // for select
}

// Option is a choice of a select filter.
type Option struct {
	Value, Label string
	Selected     bool
}

// List is a rendered list, ready for the "list" template.
type List struct {
	ID        string
	Headers   []Header
	Rows      [][]Cell
	Filters   []Filter
	NextURL   string // the next page ("" at the end)
	ExportURL string // the CSV of the whole filtered list ("" when not allowed)
	Action    string // the URL the filter form submits to
}

// Cell is one rendered cell.
type Cell struct{ Text, Href, Title string }

// NewList renders items with cols. base is the list's URL with its current query;
// next is the cursor of the next page ("" at the end).
func NewList[T any](id string, cols []Column[T], items []T, filters []Filter, base *url.URL, next string, exportable bool) List {
	l := List{ID: id, Filters: filters, Action: base.Path}
	cur := base.Query().Get("sort")
	for _, c := range cols {
		h := Header{Label: c.Header}
		if c.Sort != "" {
			next := c.Sort
			switch cur {
			case c.Sort:
				h.Dir, next = "asc", "-"+c.Sort
			case "-" + c.Sort:
				h.Dir = "desc"
			}
			h.Href = withQuery(base, "sort", next, "cursor")
		}
		l.Headers = append(l.Headers, h)
	}
	for _, it := range items {
		row := make([]Cell, len(cols))
		for i, c := range cols {
			row[i].Text = c.Cell(it)
			if c.Link != nil {
				row[i].Href = c.Link(it)
			}
			if c.Title != nil {
				row[i].Title = c.Title(it)
			}
		}
		l.Rows = append(l.Rows, row)
	}
	if next != "" {
		l.NextURL = withQuery(base, "cursor", next, "")
	}
	if exportable {
		l.ExportURL = withQuery(base, "format", "csv", "cursor")
	}
	return l
}

func withQuery(base *url.URL, key, value, drop string) string {
	u := *base
	q := u.Query()
	q.Set(key, value)
	if drop != "" {
		q.Del(drop)
	}
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// WriteCSV streams a list as CSV: the header row translated by t, then a row per item
// that each calls back with. Cells a spreadsheet would evaluate are defused.
//
// The file starts with a UTF-8 byte-order mark: without it Excel, which is what
// finance and sales open exports with, reads UTF-8 Chinese as mojibake.
func WriteCSV[T any](w io.Writer, cols []Column[T], t func(string) string, each func(func(T) error) error) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = t(c.Header)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	err := each(func(it T) error {
		rec := make([]string, len(cols))
		for i, c := range cols {
			rec[i] = audit.SafeCell(c.Cell(it))
		}
		return cw.Write(rec)
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}
