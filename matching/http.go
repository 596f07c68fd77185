package matching

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// HTTP is matching's API for consumers.
type HTTP struct {
	svc *Service
	// consumer returns the authenticated consumer of a request from the mini-program
	// (the same function consumer.HTTPConfig.Consumer takes). When nil, the routes
	// are not mounted: consumer sign-in has not landed yet.
	consumer func(c *gin.Context) (uuid.UUID, bool)
}

// NewHTTP returns the routes over svc.
func NewHTTP(svc *Service, consumer func(c *gin.Context) (uuid.UUID, bool)) *HTTP {
	return &HTTP{svc: svc, consumer: consumer}
}

// Mount adds GET /consumer/me/recommendations under api (/api/v1).
func (h *HTTP) Mount(api gin.IRouter) {
	if h.consumer == nil {
		return
	}
	api.GET("/consumer/me/recommendations", httpx.Handler(h.myRecommendations))
}

type recommendations struct {
	Items []Recommendation `json:"items"`
}

func (h *HTTP) myRecommendations(c *gin.Context) error {
	id, ok := h.consumer(c)
	if !ok {
		return identity.ErrUnauthenticated
	}
	limit := 0
	if s := c.Query("limit"); s != "" {
		var err error
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 100 {
			return errs.Invalidf("limit", "limit is a whole number from 1 to 100")
		}
	}
	recs, err := h.svc.Recommendations(c.Request.Context(), id, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, recommendations{Items: recs})
	return nil
}
