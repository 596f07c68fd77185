package matching

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

// api is matching's API for consumers.
type api struct{ svc *Service }

// mountAPI adds GET /consumer/me/recommendations, for signed-in consumers.
func (s *Service) mountAPI(rt domain.Routers) {
	h := api{svc: s}
	rt.Consumer.GET("/consumer/me/recommendations", identity.HandleConsumer(h.myRecommendations))
}

type recommendations struct {
	Items []Recommendation `json:"items"`
}

func (h api) myRecommendations(c *gin.Context, id uuid.UUID) error {
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
