package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"

	"github.com/tandemcrm/tandem/shared/errs"
)

// Argon2Params are argon2id's costs. The default follows OWASP's recommendation
// (19 MiB, 2 passes, 1 lane); hashes carry their parameters, so raising them later
// leaves existing hashes verifiable.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultArgon2 is the production cost.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1}

const saltLen, keyLen = 16, 32

// hashPassword returns the PHC string $argon2id$v=19$m=..,t=..,p=..$salt$hash.
func hashPassword(pw string, p Argon2Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("identity: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyPassword checks pw against a PHC string in constant time.
func verifyPassword(pw, encoded string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// CheckPassword applies the password rules: 10 to 128 characters, at least one letter
// and one digit, and not containing the login.
func CheckPassword(pw, login string) error {
	n := len([]rune(pw))
	if n < 10 || n > 128 {
		return weakPassword("a password has 10 to 128 characters")
	}
	var letter, digit bool
	for _, r := range pw {
		letter = letter || unicode.IsLetter(r)
		digit = digit || unicode.IsDigit(r)
	}
	if !letter || !digit {
		return weakPassword("a password needs at least one letter and one digit")
	}
	if login != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(login)) {
		return weakPassword("a password must not contain the login")
	}
	return nil
}

func weakPassword(msg string) error {
	return &errs.Error{Kind: errs.KindInvalid, Code: "identity.password_weak", Field: "password", Message: msg}
}
