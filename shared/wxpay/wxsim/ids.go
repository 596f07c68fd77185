package wxsim

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"time"
)

const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func randomFrom(alphabet string, n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b), nil
}

func randomAlnum(n int) (string, error)  { return randomFrom(alnum, n) }
func randomDigits(n int) (string, error) { return randomFrom("0123456789", n) }

// mustNonce is a 32-character nonce like WeChat's Wechatpay-Nonce. crypto/rand
// does not fail on supported platforms.
func mustNonce() string {
	s, err := randomAlnum(32)
	if err != nil {
		panic(err)
	}
	return s
}

// The shapes of WeChat's identifiers, from real samples: a 28-digit transaction
// id starting 42, a 30-ish-digit refund id starting 50, "wx"+timestamp prepay ids.
func transactionID(at time.Time, seq int64) string {
	return fmt.Sprintf("4200%06d%s%010d", 1, at.In(shanghai).Format("20060102"), seq%1e10)
}

func refundID(at time.Time, seq int64) string {
	return fmt.Sprintf("5030%06d%s%012d", 1, at.In(shanghai).Format("20060102"), seq%1e12)
}

func flowNo(at time.Time, seq int64) string {
	return fmt.Sprintf("5000%06d%s%012d", 3, at.In(shanghai).Format("20060102"), seq%1e12)
}

func prepayID(at time.Time) string {
	tail, err := randomFrom("0123456789abcdef", 22)
	if err != nil {
		panic(err)
	}
	return "wx" + at.In(shanghai).Format("20060102150405") + tail
}

func codeURL() string {
	s, err := randomAlnum(7)
	if err != nil {
		panic(err)
	}
	return "weixin://wxpay/bizpayurl?pr=" + s
}
