package matching

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// api is matching's API: a consumer's own recommendations (the mini-program), and for
// staff who read members a consumer's recommendations and a merchant's audience.
type api struct{ svc *Service }

func (s *Service) mountAPI(rt domain.Routers) {
	h := api{svc: s}
	rt.Consumer.GET("/consumer/me/recommendations", identity.HandleConsumer(h.myRecommendations))
	g := rt.Staff.Group("/matching", identity.Require(identity.PermMemberRead))
	g.GET("/consumers/:id/recommendations", identity.Handle(h.consumerRecommendations))
	g.GET("/merchants/:id/audience", identity.Handle(h.audience))
	g.GET("/merges", identity.Handle(h.listMerges))
	g.GET("/merges/:id", identity.Handle(h.getMerge))
	w := rt.Staff.Group("/matching/merges", identity.Require(identity.PermMemberWrite))
	w.POST("/:id/approve", identity.Handle(h.decide(s.Approve)))
	w.POST("/:id/reject", identity.Handle(h.decide(s.Reject)))
	w.POST("/:id/undo", identity.Handle(h.decide(s.Undo)))
	g.GET("/consumers/:id/shops", identity.Handle(h.ownedShops))
	sm := rt.Staff.Group("/matching/shop-matches", identity.Require(identity.PermOnboardingRead))
	sm.GET("", identity.Handle(h.listShopMatches))
	sm.POST("/:id/link", identity.Handle(h.decideShop(true)))
	sm.POST("/:id/reject", identity.Handle(h.decideShop(false)))
}

func (h api) listShopMatches(c *gin.Context, p *identity.Principal) error {
	items, err := h.svc.ListShopMatches(c.Request.Context(), p, c.Query("state"), 100)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
	return nil
}

func (h api) decideShop(link bool) func(*gin.Context, *identity.Principal) error {
	return func(c *gin.Context, p *identity.Principal) error {
		id, err := httpx.PathID(c, shopMatchObject)
		if err != nil {
			return err
		}
		m, err := h.svc.DecideShopMatch(c.Request.Context(), p, id, link)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, m)
		return nil
	}
}

func (h api) ownedShops(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, consumerObject)
	if err != nil {
		return err
	}
	items, err := h.svc.ShopsOwnedBy(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
	return nil
}

func (h api) listMerges(c *gin.Context, p *identity.Principal) error {
	before, n, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	items, err := h.svc.ListMerges(c.Request.Context(), p, c.Query("state"), before, n)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(items, httpx.NextAfter(items, n, func(m Merge) uuid.UUID { return m.ID })))
	return nil
}

func (h api) getMerge(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, mergeObject)
	if err != nil {
		return err
	}
	m, err := h.svc.GetMerge(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, m)
	return nil
}

func (h api) decide(step func(context.Context, *identity.Principal, uuid.UUID) (Merge, error)) func(*gin.Context, *identity.Principal) error {
	return func(c *gin.Context, p *identity.Principal) error {
		id, err := httpx.PathID(c, mergeObject)
		if err != nil {
			return err
		}
		m, err := step(c.Request.Context(), p, id)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, m)
		return nil
	}
}

type audience struct {
	Items []AudienceMember `json:"items"`
}

// limit reads ?limit= (1 to most; def when absent).
func limit(c *gin.Context, def, most int) (int, error) {
	s := c.Query("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		return 0, errs.Invalidf("limit", "limit is a whole number from 1 to %d", most)
	}
	return n, nil
}

func (h api) myRecommendations(c *gin.Context, id uuid.UUID) error {
	n, err := limit(c, h.svc.cfg.Max, 100)
	if err != nil {
		return err
	}
	l, err := h.svc.served(c.Request.Context(), id)
	if err != nil {
		return err
	}
	writeRecommendations(c, l, h.svc.clampLimit(n))
	return nil
}

func (h api) consumerRecommendations(c *gin.Context, p *identity.Principal) error {
	n, err := limit(c, h.svc.cfg.Max, 100)
	if err != nil {
		return err
	}
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.Invalidf("id", "the consumer id is a UUID")
	}
	l, err := h.svc.consumerServed(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	writeRecommendations(c, l, h.svc.clampLimit(n))
	return nil
}

// writeRecommendations answers {"items": the first n of l}: the bytes the cache keeps
// (serve_json.go), the same as encoding/json's of the list.
func writeRecommendations(c *gin.Context, l *servedList, n int) {
	bp := jsonBufs.Get().(*[]byte)
	body := l.appendJSON((*bp)[:0], n)
	c.Header("Content-Length", strconv.Itoa(len(body)))
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	*bp = body[:0]
	jsonBufs.Put(bp)
}

func (h api) audience(c *gin.Context, p *identity.Principal) error {
	n, err := limit(c, DefaultAudience, MaxAudience)
	if err != nil {
		return err
	}
	id, err := httpx.PathID(c, merchantObject)
	if err != nil {
		return err
	}
	items, err := h.svc.Audience(c.Request.Context(), p, id, n)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, audience{Items: items})
	return nil
}
