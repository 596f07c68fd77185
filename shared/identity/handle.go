package identity

import (
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/httpx"
)

// Handle adapts a staff API handler: it is given the caller explicitly, never nil
// (401 without one, 403 for a consumer), and a returned error is rendered once.
// Every domain's staff routes take their caller this way; the service checks the
// caller's permission and scope.
func Handle(h func(c *gin.Context, p *Principal) error) gin.HandlerFunc {
	return httpx.Handler(func(c *gin.Context) error {
		p := FromContext(c.Request.Context())
		if p == nil {
			return noPrincipal(c.Request.Context())
		}
		return h(c, p)
	})
}

// HandleConsumer adapts a mini-program handler: it is given the signed-in consumer's
// id (401 without one: a staff token is not a consumer's).
func HandleConsumer(h func(c *gin.Context, consumer uuid.UUID) error) gin.HandlerFunc {
	return httpx.Handler(func(c *gin.Context) error {
		id, ok := ConsumerFrom(c.Request.Context())
		if !ok {
			return ErrConsumerUnauthenticated
		}
		return h(c, id)
	})
}
