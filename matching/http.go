package matching

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// HTTP is matching's API for consumers.
type HTTP struct{ svc *Service }

// NewHTTP returns the routes over svc.
func NewHTTP(svc *Service) *HTTP { return &HTTP{svc: svc} }

// Mount adds GET /consumer/me/recommendations under api (/api/v1), for signed-in consumers.
func (h *HTTP) Mount(api gin.IRouter) {
	api.GET("/consumer/me/recommendations", identity.RequireConsumer(), httpx.Handler(h.myRecommendations))
}

type recommendations struct {
	Items []Recommendation `json:"items"`
}

func (h *HTTP) myRecommendations(c *gin.Context) error {
	id := identity.ConsumerOf(c)
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
