package billing

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/xuri/excelize/v2"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/web"
)

// writeStatementXLSX sends a statement as an Excel workbook: its figures on top, then
// the entries it sums (the same columns as the CSV), amounts as numbers in yuan so
// finance can sum them in Excel.
func writeStatementXLSX(c *gin.Context, v *web.View, st Statement, merchantName string, lines []StatementLine) error {
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	yuan := func(fen int64) float64 { return float64(fen) / 100 } // display only: sums in the workbook are Excel's
	rows := [][]any{
		{v.T("billing.statement_title"), st.Period, st.Cycle},
		{v.T("billing.merchant"), merchantName, st.MerchantID.String()},
		{v.T("billing.gross"), yuan(st.GrossFen)},
		{v.T("billing.refunds"), yuan(-st.RefundsFen)},
		{v.T("billing.commission"), yuan(-st.CommissionFen)},
		{v.T("billing.fees"), yuan(-st.FeesFen)},
		{v.T("billing.adjustments"), yuan(st.AdjustmentFen)},
		{v.T("billing.net"), yuan(st.NetFen)},
		{v.T("billing.payable_on"), st.PayableOn},
		{},
	}
	cols := lineColumns(v)
	head := make([]any, len(cols))
	for i, col := range cols {
		head[i] = v.T(col.Header)
	}
	rows = append(rows, head)
	for _, l := range lines {
		rows = append(rows, []any{v.Time(l.At), v.T("billing.kind_" + l.Kind), l.OrderNo, yuan(l.GrossFen), yuan(l.CommissionFen),
			yuan(l.FeeFen), yuan(l.AdjustmentFen), yuan(l.NetFen), audit.SafeCell(l.Reason), l.EntryID.String()})
	}
	for i, r := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			return err
		}
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			return fmt.Errorf("billing: statement workbook: %w", err)
		}
	}
	c.Header("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	c.Header("Content-Disposition", `attachment; filename="statement-`+st.Period+`.xlsx"`)
	c.Status(http.StatusOK)
	return f.Write(c.Writer)
}
