package identity

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
)

// The names the browser side uses.
const (
	SessionCookie = "tandem_session"
	CSRFHeader    = "X-CSRF-Token"
	CSRFField     = "csrf_token"
)

// ErrUnauthenticated answers a request that needs a caller and has none.
// ErrConsumerUnauthenticated refuses a consumer route to a request without a consumer's token.
var ErrConsumerUnauthenticated = errs.E(errs.KindUnauthorized, "identity.unauthenticated", "sign in from the mini-program and send 'Authorization: Bearer tdc_...'")

var ErrUnauthenticated = errs.E(errs.KindUnauthorized, "identity.unauthenticated", "sign in, or send an API token as 'Authorization: Bearer tdm_...'")

// ErrStaffOnly answers a consumer calling a route of Tandem's staff and merchants.
var ErrStaffOnly = errs.E(errs.KindForbidden, "identity.staff_only", "this route is for Tandem's staff and merchants, not consumers")

// HTTP is the identity edge: the authentication middleware every route sits behind,
// the session cookie, and the /api/v1 identity endpoints.
type HTTP struct {
	svc *Service
	// secure: "always", "never", or "auto" (Secure when the request came over TLS,
	// directly or as the trusted proxy's X-Forwarded-Proto says).
	secure string
}

// NewHTTP returns the edge of svc; secureCookies is "auto", "always" or "never".
func NewHTTP(svc *Service, secureCookies string) *HTTP { return &HTTP{svc: svc, secure: secureCookies} }

type principalKey struct{}
type consumerKey struct{}
type authErrorKey struct{}

// FromContext returns the request's authenticated principal, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// ConsumerFrom returns the request's authenticated consumer (a mini-program user
// signed in with a consumer token).
func ConsumerFrom(ctx context.Context) (uuid.UUID, bool) {
	id, ok := ctx.Value(consumerKey{}).(uuid.UUID)
	return id, ok
}

// RequireConsumer admits the requests of a signed-in consumer (a tdc_ token) and
// refuses the rest with 401: a staff token is not a consumer's.
func RequireConsumer() gin.HandlerFunc {
	return func(c *gin.Context) {
		if _, ok := ConsumerFrom(c.Request.Context()); !ok {
			httpx.Render(c, ErrConsumerUnauthenticated)
			return
		}
		c.Next()
	}
}

// ConsumerOf is the consumer of a request that RequireConsumer admitted.
func ConsumerOf(c *gin.Context) uuid.UUID {
	id, _ := ConsumerFrom(c.Request.Context())
	return id
}

// WithConsumer returns ctx carrying the consumer: for tests and jobs.
func WithConsumer(ctx context.Context, consumer uuid.UUID) context.Context {
	return context.WithValue(ctx, consumerKey{}, consumer)
}

// noPrincipal is why a request without a principal is refused: a consumer may not
// (403), the others must sign in (401, or why their session was refused).
func noPrincipal(ctx context.Context) error {
	if _, ok := ConsumerFrom(ctx); ok {
		return ErrStaffOnly
	}
	if err := AuthError(ctx); err != nil {
		return err
	}
	return ErrUnauthenticated
}

// AuthError returns why a presented session was refused (expired, revoked), or nil.
func AuthError(ctx context.Context) error {
	err, _ := ctx.Value(authErrorKey{}).(error)
	return err
}

// WithPrincipal returns ctx carrying p: for tests and jobs.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// Authenticate resolves the caller of every request: a bearer token, staff's (tdm_) or
// a consumer's (tdc_), refused at once when malformed, unknown, revoked, expired or
// over its rate; or a session cookie (a
// stale one is cleared and the request goes on anonymous, with AuthError telling why).
// It also puts the client's address in the context for the audit log.
func (h *HTTP) Authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := audit.WithClientIP(c.Request.Context(), c.ClientIP())
		if authz := c.GetHeader("Authorization"); authz != "" {
			secret, ok := strings.CutPrefix(authz, "Bearer ")
			if !ok {
				httpx.Render(c, ErrTokenMalformed)
				return
			}
			secret = strings.TrimSpace(secret)
			if strings.HasPrefix(secret, ConsumerTokenPrefix) {
				consumer, err := h.svc.AuthenticateConsumer(ctx, secret)
				if err != nil {
					httpx.Render(c, err)
					return
				}
				ctx = WithConsumer(ctx, consumer)
			} else {
				p, err := h.svc.AuthenticateToken(ctx, secret)
				if err != nil {
					httpx.Render(c, err)
					return
				}
				ctx = WithPrincipal(ctx, p)
			}
		} else if token, err := c.Cookie(SessionCookie); err == nil && token != "" {
			p, err := h.svc.AuthenticateSession(ctx, token)
			switch {
			case err == nil:
				ctx = WithPrincipal(ctx, p)
			case errs.KindOf(err) == errs.KindUnauthorized:
				h.clearCookie(c)
				ctx = context.WithValue(ctx, authErrorKey{}, err)
			default:
				httpx.Render(c, err)
				return
			}
		}
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// RequireAPI refuses requests without a principal (401; 403 for a consumer) and
// cookie-authenticated unsafe requests without the session's CSRF token (403).
func (h *HTTP) RequireAPI() gin.HandlerFunc {
	return func(c *gin.Context) {
		p := FromContext(c.Request.Context())
		if p == nil {
			httpx.Render(c, noPrincipal(c.Request.Context()))
			return
		}
		if err := h.CheckCSRF(c); err != nil {
			httpx.Render(c, err)
			return
		}
		c.Next()
	}
}

// CheckCSRF checks an unsafe request of a cookie session for the CSRF token, in the
// X-CSRF-Token header or the csrf_token form field. A refusal is audited.
func (h *HTTP) CheckCSRF(c *gin.Context) error {
	p := FromContext(c.Request.Context())
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if p == nil {
		return ErrUnauthenticated
	}
	submitted := c.GetHeader(CSRFHeader)
	if ct := c.ContentType(); submitted == "" && (ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data") {
		submitted = c.PostForm(CSRFField)
	}
	if err := p.CheckCSRF(submitted); err != nil {
		return h.svc.denied(c.Request.Context(), p, ErrCSRF, "http.request", c.Request.Method+" "+c.FullPath(), nil)
	}
	return nil
}

// Caller names the authenticated principal (a user id) or consumer ("consumer:" and
// their id), "" for none: the Caller of httpx.Idempotency, so that idempotency keys
// are per user.
func Caller(c *gin.Context) string {
	if p := FromContext(c.Request.Context()); p != nil {
		return p.User.ID.String()
	}
	if id, ok := ConsumerFrom(c.Request.Context()); ok {
		return "consumer:" + id.String()
	}
	return ""
}

// Require refuses callers without perm: 401 without a principal (403 for a
// consumer), 403 without the permission.
func Require(perm Permission) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := FromContext(c.Request.Context())
		if p == nil {
			httpx.Render(c, noPrincipal(c.Request.Context()))
			return
		}
		if _, err := p.Require(perm); err != nil {
			httpx.Render(c, err)
			return
		}
		c.Next()
	}
}

// StartSession sets the session cookie: HttpOnly, SameSite=Lax, Secure behind TLS.
func (h *HTTP) StartSession(c *gin.Context, s Session) {
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: s.Token, Path: "/", Expires: s.ExpiresAt,
		MaxAge: int(time.Until(s.ExpiresAt).Seconds()), HttpOnly: true, Secure: h.secureFor(c), SameSite: http.SameSiteLaxMode})
}

func (h *HTTP) clearCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secureFor(c), SameSite: http.SameSiteLaxMode})
}

// EndSession signs the principal out and clears the cookie.
func (h *HTTP) EndSession(c *gin.Context, p *Principal) error {
	if err := h.svc.Logout(c.Request.Context(), p); err != nil {
		return err
	}
	h.clearCookie(c)
	return nil
}

func (h *HTTP) secureFor(c *gin.Context) bool {
	switch h.secure {
	case "always", "true":
		return true
	case "never", "false":
		return false
	}
	return c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https"
}

// Login signs in from a request (form or JSON), applying the request's address and
// agent, and sets the cookie.
func (h *HTTP) Login(c *gin.Context, login, password string) (Session, error) {
	s, err := h.svc.Login(c.Request.Context(), LoginAttempt{Login: login, Password: password, IP: c.ClientIP(), UserAgent: c.Request.UserAgent()})
	if err != nil {
		return Session{}, err
	}
	h.StartSession(c, s)
	return s, nil
}

// Mount adds the identity API under api (/api/v1): sign-in, staff's and consumers',
// is open, the rest need a caller.
func (h *HTTP) Mount(api gin.IRouter) {
	api.POST("/sessions", httpx.Handler(h.postSession))
	api.POST("/consumer/sessions", httpx.Handler(h.postConsumerSession))
	api.POST("/invitations/accept", httpx.Handler(h.postAcceptInvitation))
	g := api.Group("", h.RequireAPI())
	g.DELETE("/sessions/current", httpx.Handler(h.deleteSession))
	g.GET("/me", httpx.Handler(h.getMe))
	g.GET("/users", httpx.Handler(h.listUsers))
	g.POST("/users", httpx.Handler(h.postUser))
	g.GET("/users/:id", httpx.Handler(h.getUser))
	g.PATCH("/users/:id", httpx.Handler(h.patchUser))
	g.PUT("/users/:id/roles", httpx.Handler(h.putUserRoles))
	g.POST("/users/:id/password", httpx.Handler(h.postPassword))
	g.GET("/org-units", httpx.Handler(h.listOrgUnits))
	g.POST("/org-units", httpx.Handler(h.postOrgUnit))
	g.POST("/org-units/:id/move", httpx.Handler(h.moveOrgUnit))
	g.GET("/roles", httpx.Handler(h.listRoles))
	g.POST("/roles", httpx.Handler(h.postRole))
	g.PUT("/roles/:id", httpx.Handler(h.putRole))
	g.GET("/permissions", httpx.Handler(h.listPermissions))
	g.GET("/tokens", httpx.Handler(h.listTokens))
	g.POST("/tokens", httpx.Handler(h.postToken))
	g.DELETE("/tokens/:id", httpx.Handler(h.deleteToken))
	g.GET("/audit", httpx.Handler(h.listAudit))
	g.GET("/audit/export", httpx.Handler(h.exportAudit))
}

func principal(c *gin.Context) *Principal { return FromContext(c.Request.Context()) }

type loginRequest struct {
	Login    string `json:"login" maxlen:"64"`
	Password string `json:"password" maxlen:"128"`
}

func (r loginRequest) Validate() error {
	if strings.TrimSpace(r.Login) == "" {
		return errs.Invalidf("login", "login is required")
	}
	if r.Password == "" {
		return errs.Invalidf("password", "password is required")
	}
	return nil
}

func (h *HTTP) postSession(c *gin.Context) error {
	var r loginRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	s, err := h.Login(c, r.Login, r.Password)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, s)
	return nil
}

type consumerSessionRequest struct {
	Code string `json:"code" maxlen:"128"`
}

func (r consumerSessionRequest) Validate() error {
	if strings.TrimSpace(r.Code) == "" {
		return errs.Invalidf("code", "code is required: the mini-program's wx.login gives it")
	}
	return nil
}

func (h *HTTP) postConsumerSession(c *gin.Context) error {
	var r consumerSessionRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	s, err := h.svc.SignInConsumer(c.Request.Context(), strings.TrimSpace(r.Code), c.ClientIP())
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, s)
	return nil
}

func (h *HTTP) deleteSession(c *gin.Context) error {
	if err := h.EndSession(c, principal(c)); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// Me is GET /api/v1/me: the caller, their roles, permissions and scope.
type Me struct {
	User        User                 `json:"user"`
	Roles       []RoleRef            `json:"roles"`
	Permissions map[Permission]Level `json:"permissions"`
	Scope       MeScope              `json:"scope"`
	Auth        string               `json:"auth"`
	CSRFToken   string               `json:"csrf_token,omitempty"`
}

// MeScope is where the caller's scopes are anchored.
type MeScope struct {
	OrgUnitID  uuid.NullUUID `json:"org_unit_id"`
	Subtree    []uuid.UUID   `json:"subtree"`
	MerchantID uuid.NullUUID `json:"merchant_id"`
}

// MeOf describes a principal.
func MeOf(p *Principal) Me {
	roles := p.Roles
	if roles == nil {
		roles = []RoleRef{}
	}
	sub := p.subtree
	if sub == nil {
		sub = []uuid.UUID{}
	}
	return Me{User: p.User, Roles: roles, Permissions: p.Permissions(), Auth: p.AuthMethod(), CSRFToken: p.CSRFToken,
		Scope: MeScope{OrgUnitID: p.User.OrgUnitID, Subtree: sub, MerchantID: p.User.MerchantID}}
}

func (h *HTTP) getMe(c *gin.Context) error {
	c.JSON(http.StatusOK, MeOf(principal(c)))
	return nil
}

func (h *HTTP) listUsers(c *gin.Context) error {
	cursor, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	f := UserFilter{Q: c.Query("q"), Role: c.Query("role"), After: cursor, Limit: limit}
	if s := c.Query("org_unit_id"); s != "" {
		if f.OrgUnitID, err = uuid.Parse(s); err != nil {
			return errs.Invalidf("org_unit_id", "org_unit_id is an id")
		}
	}
	users, next, err := h.svc.ListUsers(c.Request.Context(), principal(c), f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(users, next))
	return nil
}

type userRequest struct {
	Login       string    `json:"login" maxlen:"64"`
	DisplayName string    `json:"display_name" maxlen:"100"`
	Kind        UserKind  `json:"kind" maxlen:"16"`
	OrgUnitID   uuid.UUID `json:"org_unit_id"`
	MerchantID  uuid.UUID `json:"merchant_id"`
	Phone       string    `json:"phone" maxlen:"32"`
	Password    string    `json:"password" maxlen:"128"`
	Roles       []string  `json:"roles" maxlen:"40"`
}

func (h *HTTP) postUser(c *gin.Context) error {
	var r userRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	u, err := h.svc.CreateUser(c.Request.Context(), principal(c), NewUser(r))
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, u)
	return nil
}

func (h *HTTP) getUser(c *gin.Context) error {
	id, err := httpx.PathID(c, "identity.user")
	if err != nil {
		return err
	}
	u, err := h.svc.GetUser(c.Request.Context(), principal(c), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}

type patchUserRequest struct {
	DisplayName *string    `json:"display_name" maxlen:"100"`
	Phone       *string    `json:"phone" maxlen:"32"`
	OrgUnitID   *uuid.UUID `json:"org_unit_id"`
	Disabled    *bool      `json:"disabled"`
}

func (h *HTTP) patchUser(c *gin.Context) error {
	id, err := httpx.PathID(c, "identity.user")
	if err != nil {
		return err
	}
	var r patchUserRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	u, err := h.svc.UpdateUser(c.Request.Context(), principal(c), id, UserPatch(r))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}

type rolesRequest struct {
	Roles []string `json:"roles" maxlen:"40"`
}

func (r rolesRequest) Validate() error {
	if r.Roles == nil {
		return errs.Invalidf("roles", "roles is required (an empty list removes every role)")
	}
	return nil
}

func (h *HTTP) putUserRoles(c *gin.Context) error {
	id, err := httpx.PathID(c, "identity.user")
	if err != nil {
		return err
	}
	var r rolesRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	u, err := h.svc.SetUserRoles(c.Request.Context(), principal(c), id, r.Roles)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password" maxlen:"128"`
	NewPassword     string `json:"new_password" maxlen:"128"`
}

func (h *HTTP) postPassword(c *gin.Context) error {
	id, err := httpx.PathID(c, "identity.user")
	if err != nil {
		return err
	}
	var r passwordRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	if err := h.svc.SetPassword(c.Request.Context(), principal(c), id, r.CurrentPassword, r.NewPassword); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (h *HTTP) listOrgUnits(c *gin.Context) error {
	units, err := h.svc.OrgTree(c.Request.Context(), principal(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.Page[OrgUnit]{Items: units})
	return nil
}

type orgUnitRequest struct {
	ParentID uuid.UUID `json:"parent_id"`
	Kind     OrgKind   `json:"kind" maxlen:"16"`
	Name     string    `json:"name" maxlen:"100"`
}

func (h *HTTP) postOrgUnit(c *gin.Context) error {
	var r orgUnitRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	u, err := h.svc.CreateOrgUnit(c.Request.Context(), principal(c), NewOrgUnit(r))
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, u)
	return nil
}

type moveRequest struct {
	ParentID uuid.UUID `json:"parent_id"`
}

func (h *HTTP) moveOrgUnit(c *gin.Context) error {
	id, err := httpx.PathID(c, "identity.org_unit")
	if err != nil {
		return err
	}
	var r moveRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	u, err := h.svc.MoveOrgUnit(c.Request.Context(), principal(c), id, r.ParentID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}

func (h *HTTP) listRoles(c *gin.Context) error {
	roles, err := h.svc.ListRoles(c.Request.Context(), principal(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.Page[Role]{Items: roles})
	return nil
}

type roleRequest struct {
	Key         string       `json:"key" maxlen:"40"`
	Name        string       `json:"name" maxlen:"100"`
	Description string       `json:"description" maxlen:"500"`
	Scope       Level        `json:"scope" maxlen:"16"`
	Permissions []Permission `json:"permissions" maxlen:"64"`
}

func (h *HTTP) postRole(c *gin.Context) error {
	var r roleRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	role, err := h.svc.CreateRole(c.Request.Context(), principal(c), RoleInput(r))
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, role)
	return nil
}

func (h *HTTP) putRole(c *gin.Context) error {
	id, err := httpx.PathID(c, "identity.role")
	if err != nil {
		return err
	}
	var r roleRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	role, err := h.svc.UpdateRole(c.Request.Context(), principal(c), id, RoleInput(r))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, role)
	return nil
}

func (h *HTTP) listPermissions(c *gin.Context) error {
	c.JSON(http.StatusOK, httpx.Page[Permission]{Items: Permissions()})
	return nil
}

func (h *HTTP) listTokens(c *gin.Context) error {
	cursor, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	tokens, next, err := h.svc.ListTokens(c.Request.Context(), principal(c), cursor, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(tokens, next))
	return nil
}

type tokenRequest struct {
	Name    string `json:"name" maxlen:"100"`
	TTLDays int    `json:"ttl_days"`
}

// CreatedToken is a new token with its secret, shown this once.
type CreatedToken struct {
	Token
	Secret string `json:"secret"`
}

func (h *HTTP) postToken(c *gin.Context) error {
	var r tokenRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	t, secret, err := h.svc.CreateToken(c.Request.Context(), principal(c), NewToken{Name: r.Name, TTL: time.Duration(r.TTLDays) * 24 * time.Hour})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, CreatedToken{Token: t, Secret: secret})
	return nil
}

func (h *HTTP) deleteToken(c *gin.Context) error {
	id, err := httpx.PathID(c, "identity.token")
	if err != nil {
		return err
	}
	if err := h.svc.RevokeToken(c.Request.Context(), principal(c), id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (h *HTTP) listAudit(c *gin.Context) error {
	f, err := audit.ParseFilter(c.Request.URL.Query())
	if err != nil {
		return err
	}
	entries, next, err := h.svc.ListAudit(c.Request.Context(), principal(c), f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(entries, next))
	return nil
}

func (h *HTTP) exportAudit(c *gin.Context) error {
	f, err := audit.ParseFilter(c.Request.URL.Query())
	if err != nil {
		return err
	}
	p := principal(c)
	if _, err := p.Require(PermAuditExport); err != nil {
		return err
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="audit.csv"`)
	w := csv.NewWriter(c.Writer)
	_ = w.Write(audit.CSVHeader())
	err = h.svc.ExportAudit(c.Request.Context(), p, f, func(e audit.Entry) error { return w.Write(e.CSVRecord()) })
	w.Flush()
	if err != nil {
		// The header is sent; all that is left is to end the body short and log.
		_ = c.Error(err)
	}
	return nil
}

type acceptInvitationRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// postAcceptInvitation sets an invited user's password through their single-use link.
func (h *HTTP) postAcceptInvitation(c *gin.Context) error {
	var r acceptInvitationRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	login, err := h.svc.AcceptInvitation(c.Request.Context(), r.Token, r.Password)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, map[string]string{"login": login})
	return nil
}
