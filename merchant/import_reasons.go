package merchant

import (
	"fmt"
	"maps"
	"slices"
)

// ImportReasonCode says why an import refused a row. The report keeps it with its
// parameters beside the English reason the API has always given, so the console and
// the API (with Accept-Language) say it in the reader's language.
type ImportReasonCode string

// The import's reasons; the comment names each one's parameters.
const (
	ImportNoColumn         ImportReasonCode = "no_column"           // column
	ImportNoRows           ImportReasonCode = "no_rows"             // —
	ImportRequired         ImportReasonCode = "required"            // column
	ImportNotANumber       ImportReasonCode = "not_a_number"        // column
	ImportOutOfRange       ImportReasonCode = "out_of_range"        // column, min, max
	ImportBadLevel         ImportReasonCode = "bad_level"           // —
	ImportBadPhone         ImportReasonCode = "bad_phone"           // column
	ImportLicenceLength    ImportReasonCode = "licence_length"      // —
	ImportLicenceCharacter ImportReasonCode = "licence_character"   // char
	ImportLicenceCheck     ImportReasonCode = "licence_check"       // —
	ImportSamePhoneAs      ImportReasonCode = "same_phone_as_row"   // row
	ImportSameLicenceAs    ImportReasonCode = "same_licence_as_row" // row
	ImportSimilarNameAs    ImportReasonCode = "similar_name_as_row" // row
	ImportDuplicate        ImportReasonCode = "duplicate"           // by (phone, licence_no, name_nearby), held_by, team, pool
	ImportCreatedMeanwhile ImportReasonCode = "created_meanwhile"   // —
)

// importEnglish is each reason's English, {param} standing for its parameters: the
// wording the report's reason field has always carried. A duplicate's is
// duplicateError's, composed from the holder.
var importEnglish = map[ImportReasonCode]string{
	ImportNoColumn:         "no column for {column}",
	ImportNoRows:           "the file has no rows under its header",
	ImportRequired:         "{column} is required",
	ImportNotANumber:       "not a number",
	ImportOutOfRange:       "{column} must be between {min} and {max}",
	ImportBadLevel:         "a level is one letter, A to Z",
	ImportBadPhone:         "{column} is not a phone number: write a mobile (138 0013 8000) or a landline with its area code (021 6288 0000), with +country code for numbers outside China",
	ImportLicenceLength:    "a unified social credit code has 18 characters",
	ImportLicenceCharacter: "{char} is not a character of a unified social credit code",
	ImportLicenceCheck:     "the check character of this unified social credit code is wrong",
	ImportSamePhoneAs:      "the same phone as row {row}",
	ImportSameLicenceAs:    "the same licence number as row {row}",
	ImportSimilarNameAs:    "a similar name close to row {row}",
	ImportDuplicate:        "this shop already exists: held by {held_by}", // duplicateError says it
	ImportCreatedMeanwhile: "this shop was created meanwhile (the same phone or licence number)",
}

// ImportReasonCodes lists every reason an import gives (the console's catalogue test reads it).
func ImportReasonCodes() []ImportReasonCode { return slices.Collect(maps.Keys(importEnglish)) }

// importProblem is row's refusal in column for code, its parameters given as name,
// value pairs.
func importProblem(row int, column string, code ImportReasonCode, params ...string) ImportProblem {
	text, m := fillReason(importEnglish[code], params)
	return ImportProblem{Row: row, Column: column, Reason: text, Code: code, Params: m}
}

// importProblemsBy is the report with its reasons worded by t (a catalogue's T in the
// reader's language) and, with columns, its columns by their headers: the console's;
// the API keeps the field names programs match on.
func importProblemsBy(t func(key string, data map[string]any) string, problems []ImportProblem, columns bool) []ImportProblem {
	out := make([]ImportProblem, len(problems))
	for i, p := range problems {
		out[i] = p
		out[i].Reason = importReasonText(t, p)
		if columns {
			out[i].Column = importColumnText(t, p.Column)
		}
	}
	return out
}

// importReasonText is p's reason by t (a catalogue's T in the reader's language):
// from its code and parameters, a column by its header ("leads.import_col_<field>");
// a report from before the codes keeps its English.
func importReasonText(t func(key string, data map[string]any) string, p ImportProblem) string {
	if p.Code == "" {
		return p.Reason
	}
	data := make(map[string]any, len(p.Params))
	for k, v := range p.Params {
		data[k] = v
	}
	if c, ok := p.Params["column"]; ok {
		data["column"] = importColumnText(t, c)
	}
	return t("leads.import_reason_"+string(p.Code), data)
}

// importColumnText is a lead field as the import's headers name it for the reader.
func importColumnText(t func(key string, data map[string]any) string, field string) string {
	if _, ok := importFields[field]; !ok {
		return field
	}
	return t("leads.import_col_"+field, nil)
}

// importRowNo is a row number as a reason's parameter.
func importRowNo(row int32) string { return fmt.Sprint(row) }
