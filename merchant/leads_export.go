package merchant

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

// Lead exports (导出): the leads of a list's filters the caller may see, every page,
// as CSV or Excel; Excel through excelize's StreamWriter, which keeps at most a
// buffer of rows in memory (it spills to a temporary file), whatever the number of leads.

// Export formats.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// XLSXContentType is an Excel workbook's media type.
const XLSXContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// EachLead calls fn with every lead of f the caller may see, a page of 200 at a time.
// It refuses before the first lead (no permission, a bad filter), never midway for those.
func (s *Service) EachLead(ctx context.Context, p *identity.Principal, f LeadFilter, fn func(Lead) error) error {
	f.Limit, f.After = 200, uuid.Nil
	for {
		page, next, err := s.ListLeads(ctx, p, f)
		if err != nil {
			return err
		}
		for _, l := range page {
			if err := fn(l); err != nil {
				return err
			}
		}
		if next == uuid.Nil {
			return nil
		}
		f.After = next
	}
}

// WriteXLSX streams a one-sheet workbook to w: the header row, then each row given.
func WriteXLSX(w io.Writer, header []string, each func(row func([]string) error) error) error {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return err
	}
	n := 0
	write := func(cells []string) error {
		n++
		vals := make([]any, len(cells))
		for i, c := range cells {
			vals[i] = c
		}
		cell, err := excelize.CoordinatesToCellName(1, n)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, vals)
	}
	if err := write(header); err != nil {
		return err
	}
	if err := each(write); err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.Write(w)
}

// exportHeader and exportRow are the API export's columns (English headers).
var exportHeader = []string{"id", "name", "stage", "level", "phone", "address", "city", "category", "owner_id", "in_pool", "reclaim_on", "created_at"}

func exportRow(l Lead) []string {
	owner, reclaim := "", ""
	if l.OwnerID != nil {
		owner = l.OwnerID.String()
	}
	if l.ReclaimOn != nil {
		reclaim = *l.ReclaimOn
	}
	return []string{l.ID.String(), l.Name, string(l.Stage), l.Level, l.Phone, l.Address, l.City, l.Category, owner,
		strconv.FormatBool(l.InPool), reclaim, l.CreatedAt.Format("2006-01-02 15:04:05")}
}

// checkFormat refuses an export format other than csv and xlsx.
func checkFormat(format string) error {
	if format != FormatCSV && format != FormatXLSX {
		return errs.Invalidf("format", "export as csv or xlsx")
	}
	return nil
}

// writeCSV streams a CSV with a BOM (for Excel), cells guarded against formulas.
func writeCSV(w io.Writer, header []string, each func(row func([]string) error) error) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	err := each(func(cells []string) error {
		safe := make([]string, len(cells))
		for i, c := range cells {
			safe[i] = audit.SafeCell(c)
		}
		return cw.Write(safe)
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}
