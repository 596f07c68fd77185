package wxpay

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// scanChunk is how much is read at once, once a file proves large (reads start
// at firstChunk and double). Each chunk becomes one string that the lines of the
// chunk are sliced from, so parsing costs one allocation per chunk rather than
// per line or per field; a line the caller keeps pins its chunk.
const (
	firstChunk = 4 << 10
	scanChunk  = 256 << 10
)

// lineScanner yields the lines of a bill without their terminator (LF or CRLF).
// It detects gzip by its magic number and drops a leading UTF-8 BOM, both of
// which real bills may or may not have (shared/wxpay/WECHATPAY.md e).
type lineScanner struct {
	r      io.Reader
	buf    []byte // bytes read but not yet turned into a chunk (a partial line)
	chunk  string
	pos    int
	lineNo int
	eof    bool
	err    error
	first  bool
}

func newLineScanner(r io.Reader) (*lineScanner, error) {
	s := &lineScanner{buf: make([]byte, 0, firstChunk), first: true}
	// Peek at the first bytes to detect gzip without a second buffer.
	head := make([]byte, 2)
	n, err := io.ReadFull(r, head)
	head = head[:n]
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("wxpay bill: read: %w", err)
	}
	src := io.MultiReader(bytes.NewReader(head), r)
	if bytes.Equal(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, fmt.Errorf("wxpay bill: gzip: %w", err)
		}
		src = zr
	}
	s.r = src
	return s, nil
}

// next returns the next line and false at the end of the input or on a read
// error (see err).
func (s *lineScanner) next() (string, bool) {
	for s.pos >= len(s.chunk) {
		if s.eof || s.err != nil || !s.fill() {
			return "", false
		}
	}
	rest := s.chunk[s.pos:]
	line := rest
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		line = rest[:i]
		s.pos += i + 1
	} else {
		s.pos = len(s.chunk)
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if s.first {
		s.first = false
		line = strings.TrimPrefix(line, "\uFEFF")
	}
	s.lineNo++
	return line, true
}

// fill reads until the buffer holds at least one whole line (or the input ends)
// and makes a new chunk of the whole lines; the partial tail stays in buf.
func (s *lineScanner) fill() bool {
	for {
		if i := bytes.LastIndexByte(s.buf, '\n'); i >= 0 {
			s.chunk, s.pos = string(s.buf[:i+1]), 0
			s.buf = s.buf[:copy(s.buf, s.buf[i+1:])]
			if cap(s.buf) < scanChunk {
				s.buf = append(make([]byte, 0, 2*cap(s.buf)), s.buf...)
			}
			return true
		}
		if s.eof {
			if len(s.buf) == 0 {
				return false
			}
			s.chunk, s.pos = string(s.buf), 0
			s.buf = s.buf[:0]
			return true
		}
		if len(s.buf) == cap(s.buf) { // one line longer than the buffer
			s.buf = append(s.buf, make([]byte, cap(s.buf))...)[:len(s.buf)]
		}
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if errors.Is(err, io.EOF) {
			s.eof = true
		} else if err != nil {
			s.err = fmt.Errorf("wxpay bill: read after line %d: %w", s.lineNo, err)
			return false
		}
	}
}

// splitFields splits one bill line into dst (reused). Real bills prefix every
// value with a backtick so that spreadsheets keep long numbers as text; a comma
// is a separator only when the next value starts with one, which keeps commas
// inside goods names intact. Lines without the prefix are split on every comma.
func splitFields(line string, dst []string) []string {
	dst = dst[:0]
	if line == "" || line[0] != '`' {
		for {
			i := strings.IndexByte(line, ',')
			if i < 0 {
				return append(dst, line)
			}
			dst = append(dst, line[:i])
			line = line[i+1:]
		}
	}
	line = line[1:]
	start := 0
	for {
		i := strings.IndexByte(line[start:], ',')
		if i < 0 {
			return append(dst, line)
		}
		i += start
		if i+1 < len(line) && line[i+1] == '`' {
			dst = append(dst, line[:i])
			line = line[i+2:]
			start = 0
			continue
		}
		start = i + 1
	}
}
