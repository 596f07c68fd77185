package identity

import (
	"context"
	"net/http"

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

// Read is the whole handler of a read that needs nothing but the caller: it answers
// 200 with what call returns, e.g. identity.Read(svc.TierProgram).
func Read[Out any](call func(context.Context, *Principal) (Out, error)) gin.HandlerFunc {
	return Handle(func(c *gin.Context, p *Principal) error {
		out, err := call(c.Request.Context(), p)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, out)
		return nil
	})
}

// Write is the whole handler of a write whose input is the JSON body: it binds the
// body through the edge contract, calls with the caller and answers status with the
// result, e.g. identity.Write(http.StatusCreated, svc.CreateCouponBatch).
func Write[In, Out any](status int, call func(context.Context, *Principal, In) (Out, error)) gin.HandlerFunc {
	return Handle(func(c *gin.Context, p *Principal) error {
		var in In
		if err := httpx.BindJSON(c, &in); err != nil {
			return err
		}
		out, err := call(c.Request.Context(), p, in)
		if err != nil {
			return err
		}
		c.JSON(status, out)
		return nil
	})
}
