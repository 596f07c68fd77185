package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gabriel-vasile/mimetype"

	"github.com/tandemcrm/tandem/shared/errs"
)

// Error codes of a refused upload (each names the form field).
const (
	CodeEmpty          = "storage.empty"
	CodeTooLarge       = "storage.too_large"
	CodeTypeNotAllowed = "storage.type_not_allowed"
	CodeExecutable     = "storage.executable"
)

// Upload is a file that passed Check: its bytes, its type as sniffed from the
// content, the extension that type is stored under, and its digest.
type Upload struct {
	Data        []byte
	ContentType string // "image/jpeg"
	Ext         string // ".jpg"
	SHA256      string // hex
}

// Size is the upload's length in bytes.
func (u Upload) Size() int64 { return int64(len(u.Data)) }

// Reader reads the upload's bytes from the start.
func (u Upload) Reader() io.Reader { return bytes.NewReader(u.Data) }

// Images are the photo types a phone sends; Documents adds PDF (scanned licences).
var (
	Images    = []string{"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"}
	Documents = append(slices.Clone(Images), "application/pdf")
)

// executables are refused whatever the allowed list says: a renamed .exe stays one.
var executables = []string{"application/x-msdownload", "application/vnd.microsoft.portable-executable",
	"application/x-executable", "application/x-elf", "application/x-mach-binary", "application/x-sharedlib",
	"application/x-coredump", "application/x-object", "text/x-shellscript", "application/x-sh", "application/x-bat",
	"application/java-archive", "application/jar", "application/x-java-applet", "application/vnd.android.package-archive",
	"application/wasm", "text/x-python", "text/x-perl", "text/x-php", "text/javascript", "application/javascript"}

// Check reads at most max bytes of r for the form field field and sniffs the type from
// the content: an empty file, one larger than max (413), an executable under any name,
// or a type outside allowed is refused with an error naming field, and nothing is kept.
func Check(field string, r io.Reader, max int64, allowed []string) (Upload, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return Upload{}, fmt.Errorf("storage: read %s: %w", field, err)
	}
	if len(data) == 0 {
		return Upload{}, &errs.Error{Kind: errs.KindInvalid, Code: CodeEmpty, Field: field, Message: field + " is an empty file"}
	}
	if int64(len(data)) > max {
		return Upload{}, &errs.Error{Kind: errs.KindTooLarge, Code: CodeTooLarge, Field: field,
			Message: fmt.Sprintf("%s is larger than %d KiB", field, max/1024)}
	}
	mt := mimetype.Detect(data)
	if isExecutable(mt, data) {
		return Upload{}, &errs.Error{Kind: errs.KindUnprocessable, Code: CodeExecutable, Field: field,
			Message: field + " is a program, not a photo or a document, whatever its name says"}
	}
	ct := strings.SplitN(mt.String(), ";", 2)[0]
	if !slices.Contains(allowed, ct) {
		return Upload{}, &errs.Error{Kind: errs.KindUnprocessable, Code: CodeTypeNotAllowed, Field: field,
			Message: fmt.Sprintf("%s is %s; send %s", field, ct, strings.Join(allowed, ", "))}
	}
	sum := sha256.Sum256(data)
	ext := mt.Extension()
	if ct == "image/jpeg" {
		ext = ".jpg"
	}
	return Upload{Data: data, ContentType: ct, Ext: ext, SHA256: hex.EncodeToString(sum[:])}, nil
}

func isExecutable(mt *mimetype.MIME, data []byte) bool {
	for m := mt; m != nil; m = m.Parent() {
		if slices.Contains(executables, strings.SplitN(m.String(), ";", 2)[0]) {
			return true
		}
	}
	// A script with a shebang is a program whatever interpreter it names.
	return bytes.HasPrefix(data, []byte("#!"))
}
