package wxpay

import (
	"errors"
	"fmt"
	"strings"
)

// LineError is one line of a bill the parser could not accept. The parse goes
// on; the caller decides whether a file with problems is acceptable.
type LineError struct {
	Line   int // 1-based line number in the uncompressed file
	Reason string
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// maxKeptProblems bounds memory on a file that is wrong throughout; ProblemCount
// still counts them all.
const maxKeptProblems = 1000

// ErrNotABill is returned when the first line is not the header of the expected bill.
var ErrNotABill = errors.New("wxpay bill: first line is not a bill header")

type billSection int

const (
	sectionDetails billSection = iota
	sectionSummaryValues
	sectionDone
)

type recordKind int

const (
	recordDetail recordKind = iota
	recordSummary
)

// billReader is what the trade and fund-flow readers share: the sections of a
// bill (detail header, detail lines, summary header, summary line), field
// splitting and the list of problems.
type billReader struct {
	sc            *lineScanner
	fields        []string
	header        []string
	summaryFirst  string // the summary header is recognised by its first name
	summaryHeader []string
	summaryLine   int
	section       billSection
	problems      []LineError
	nProblems     int
	finished      bool
}

// start reads the detail header: the first line that is not blank.
func (b *billReader) start(sc *lineScanner, summaryFirst string, isHeader func([]string) bool) error {
	b.sc, b.summaryFirst = sc, summaryFirst
	for {
		line, ok := sc.next()
		if !ok {
			if sc.err != nil {
				return sc.err
			}
			return ErrNotABill
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		names := splitFields(line, nil)
		for i := range names {
			names[i] = headerName(names[i])
		}
		if !isHeader(names) {
			return fmt.Errorf("%w: %.80q", ErrNotABill, line)
		}
		b.header = names
		return nil
	}
}

// headerName normalises a column name: spaces trimmed, the "(元)" unit dropped
// (fund-flow headers carry it, some exports use full-width brackets).
func headerName(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, "(元)")
	return strings.TrimSuffix(s, "（元）")
}

// next returns the fields of the next detail or summary record. Lines that do
// not fit the structure are recorded as problems and skipped.
func (b *billReader) next() ([]string, recordKind, bool) {
	for {
		line, ok := b.sc.next()
		if !ok {
			b.finish()
			return nil, 0, false
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		b.fields = splitFields(line, b.fields)
		switch b.section {
		case sectionDetails:
			if headerName(b.fields[0]) == b.summaryFirst {
				b.summaryHeader = make([]string, len(b.fields))
				for i, f := range b.fields {
					b.summaryHeader[i] = headerName(f)
				}
				b.section = sectionSummaryValues
				continue
			}
			if len(b.fields) != len(b.header) {
				b.problem("%d fields, the header has %d", len(b.fields), len(b.header))
				continue
			}
			return b.fields, recordDetail, true
		case sectionSummaryValues:
			b.section = sectionDone
			b.summaryLine = b.sc.lineNo
			if len(b.fields) != len(b.summaryHeader) {
				b.problem("summary has %d fields, its header has %d", len(b.fields), len(b.summaryHeader))
				continue
			}
			return b.fields, recordSummary, true
		default:
			b.problem("content after the summary line")
		}
	}
}

func (b *billReader) finish() {
	if b.finished || b.sc.err != nil {
		return
	}
	b.finished = true
	switch b.section {
	case sectionDetails:
		b.problemAt(b.sc.lineNo+1, "no summary: the file ends without its summary lines")
	case sectionSummaryValues:
		b.problemAt(b.sc.lineNo+1, "summary header without a summary line")
	}
}

func (b *billReader) problem(format string, args ...any) {
	b.problemAt(b.sc.lineNo, fmt.Sprintf(format, args...))
}

func (b *billReader) problemAt(line int, reason string) {
	b.nProblems++
	if len(b.problems) < maxKeptProblems {
		b.problems = append(b.problems, LineError{Line: line, Reason: reason})
	}
}

// columnIndex maps each header position to a column id through names; unknown
// names map to 0 (ignored), so new columns WeChat adds do not break parsing.
func columnIndex[C ~int](header []string, names map[string]C) []C {
	cols := make([]C, len(header))
	for i, h := range header {
		cols[i] = names[h]
	}
	return cols
}

// sumCheck compares one summary value with the sum of the detail lines.
type sumCheck struct {
	present  bool // the file's summary has the column
	name     string
	got, sum int64
	format   func(int64) string
}

// checkSums records a problem at the summary line for every summary value that
// differs from the sum of the detail lines before it.
func (b *billReader) checkSums(checks ...sumCheck) {
	for _, c := range checks {
		if c.present && c.got != c.sum {
			b.problemAt(b.summaryLine, fmt.Sprintf("summary %s is %s, the lines add up to %s",
				c.name, c.format(c.got), c.format(c.sum)))
		}
	}
}

func formatCount(n int64) string { return fmt.Sprint(n) }
