package httpx

import (
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/logging"
)

// RequestIDHeader carries the request id both ways: a caller (or a proxy) may send one,
// and every answer has one, which also appears in every log line and error body.
const RequestIDHeader = "X-Request-Id"

func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if !validRequestID(id) {
			id = uuid.Must(uuid.NewV7()).String()
		}
		c.Header(RequestIDHeader, id)
		c.Request = c.Request.WithContext(logging.WithRequestID(c.Request.Context(), id))
		c.Next()
	}
}

// validRequestID accepts what a proxy would plausibly send and nothing that could
// forge log lines: 8 to 64 characters of [A-Za-z0-9._-].
func validRequestID(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// RequestID returns the current request's id.
func RequestID(c *gin.Context) string { return logging.RequestID(c.Request.Context()) }
