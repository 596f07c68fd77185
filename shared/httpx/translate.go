package httpx

import (
	"github.com/gin-gonic/gin"
	"golang.org/x/text/language"
)

// Translator words an error for a person in a language ("zh-CN" or "en"). The console's
// catalogues implement it (web.Console), so the API and the console word a refusal
// alike: the code's own message, else a sentence for its kind naming the field.
type Translator interface {
	ErrorMessage(lang string, err error) string
}

const translatorKey = "httpx.translator"

// Translate makes the error messages of the routes below it read in the language the
// request's Accept-Language prefers (Chinese or English). Without the header, or for
// another language, the message stays the code's English one: codes are what programs
// match on, and the message's language is the person's.
func Translate(t Translator) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(translatorKey, t)
		c.Next()
	}
}

// Language is the language the request's Accept-Language asks for among Chinese and
// English ("zh-CN" or "en"), "" when it asks for neither: what a handler words the
// free text of an answer in (an import's report), as error messages are worded.
func Language(c *gin.Context) string { return acceptedLanguage(c.GetHeader("Accept-Language")) }

// acceptedLanguage is the first of Chinese and English that an Accept-Language header
// asks for, "" when it asks for neither.
func acceptedLanguage(header string) string {
	if header == "" {
		return ""
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil {
		return ""
	}
	for _, t := range tags {
		switch base, _ := t.Base(); base.String() {
		case "zh":
			return "zh-CN"
		case "en":
			return "en"
		}
	}
	return ""
}
