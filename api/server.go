// Package api is LeChat's REST layer: the gin router, its middleware and handlers,
// and the one mapping from error kinds to HTTP statuses.
package api

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"lechat/model"
	"lechat/service"
)

// RateLimits are the per-address limits of the routes that attract abuse.
type RateLimits struct {
	Enabled  bool
	Register Limit
	Login    Limit
	Resend   Limit
}

// Options configure the router.
type Options struct {
	Log      *slog.Logger
	Accounts *service.Accounts
	Friends  *service.Friends
	Groups   *service.Groups
	Chat     *service.Chat
	// Uploads serves POST /api/v1/uploads/images and GET /uploads/*name, or is nil.
	Uploads *service.Uploads
	// WebSocket serves GET /ws (the hub), or is nil.
	WebSocket http.Handler
	// Health reports whether the database answers, for GET /healthz and /readyz.
	Health func(ctx context.Context) error
	// BusHealthy, when set, reports whether the cluster bus reaches the other
	// nodes: /healthz shows it, /readyz requires it.
	BusHealthy func() bool
	// Metrics serves GET /metrics (Prometheus), or is nil.
	Metrics http.Handler

	// Frontend holds the built web app (index.html at its root), or is nil when it
	// was not built; then every page answers with UnbuiltPage.
	Frontend    fs.FS
	UnbuiltPage []byte

	BodyLimit      int64    // bytes a request body may have
	CORSOrigins    []string // origins allowed to call the API from a browser; "*" for any
	TrustedProxies []string // addresses whose X-Forwarded-For is believed
	RateLimits     RateLimits
}

// Server holds the handlers' dependencies.
type Server struct {
	log      *slog.Logger
	accounts *service.Accounts
	friends  *service.Friends
	groups   *service.Groups
	chat     *service.Chat
	uploads  *service.Uploads
	health   func(ctx context.Context) error
	bus      func() bool
}

// New returns the HTTP handler of the whole API and the web app.
func New(o Options) (http.Handler, error) {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{log: o.Log, accounts: o.Accounts, friends: o.Friends, groups: o.Groups,
		chat: o.Chat, uploads: o.Uploads, health: o.Health, bus: o.BusHealthy}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	if err := r.SetTrustedProxies(o.TrustedProxies); err != nil {
		return nil, err
	}
	if o.BodyLimit <= 0 {
		o.BodyLimit = 1 << 20
	}
	r.Use(withRequestID(), logRequests(o.Log), recoverPanics(o.Log), securityHeaders(),
		cors(o.CORSOrigins), limitBody(o.BodyLimit, o.Log))

	var regLim, loginLim, resendLim, activateLim *ipLimiter
	if o.RateLimits.Enabled {
		regLim = newIPLimiter(o.RateLimits.Register)
		loginLim = newIPLimiter(o.RateLimits.Login)
		resendLim = newIPLimiter(o.RateLimits.Resend)
		activateLim = newIPLimiter(o.RateLimits.Resend) // same size, its own bucket
	}

	r.GET("/healthz", s.healthz)
	r.HEAD("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.HEAD("/readyz", s.readyz)
	if o.Metrics != nil {
		r.GET("/metrics", gin.WrapH(o.Metrics))
	}

	v1 := r.Group("/api/v1")
	v1.POST("/auth/register", s.rateLimited(regLim), s.handle(s.register))
	v1.POST("/auth/activate", s.rateLimited(activateLim), s.handle(s.activate))
	v1.POST("/auth/resend-activation", s.rateLimited(resendLim), s.handle(s.resendActivation))
	v1.POST("/auth/login", s.rateLimited(loginLim), s.handle(s.login))

	authed := v1.Group("", s.requireAuth())
	authed.POST("/auth/logout", s.handle(s.logout))
	authed.GET("/me", s.handle(s.me))
	authed.PATCH("/me", s.handle(s.updateMe))
	authed.PUT("/me/password", s.handle(s.changePassword))
	authed.GET("/users", s.handle(s.searchUsers))
	authed.GET("/users/:id", s.handle(s.user))
	if s.friends != nil {
		s.friendRoutes(authed)
	}
	if s.groups != nil {
		s.groupRoutes(authed)
	}
	if s.chat != nil {
		s.conversationRoutes(authed)
	}
	if s.uploads != nil {
		s.uploadRoutes(authed)
		r.GET("/uploads/*name", s.serveUpload)
		r.HEAD("/uploads/*name", s.serveUpload)
	}
	if o.WebSocket != nil {
		r.GET("/ws", gin.WrapH(o.WebSocket))
	}

	web := newWebApp(o.Frontend, o.UnbuiltPage)
	r.NoRoute(func(c *gin.Context) {
		if isAPIPath(c.Request.URL.Path) || !web.serve(c) {
			writeError(c, s.log, model.Errorf(model.ErrNotFound, "no route %s %s", c.Request.Method, c.Request.URL.Path))
		}
	})
	r.NoMethod(func(c *gin.Context) {
		// HTTP's own 405 (gin has set Allow); the contract has no code of its own for it.
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
			Code: "invalid_request", Message: "method " + c.Request.Method + " is not allowed on this route"}})
	})
	return r, nil
}

// handle adapts a handler that returns an error; it writes every error response.
func (s *Server) handle(fn func(*gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := fn(c); err != nil {
			writeError(c, s.log, err)
		}
	}
}

// healthz is liveness: 200 while the database answers (503 unavailable when it
// does not), with the cluster bus's state shown but not required: a node whose
// bus is degraded still serves its own sockets.
func (s *Server) healthz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.health(ctx); err != nil {
		s.log.WarnContext(ctx, "health check failed", "err", err)
		writeError(c, s.log, model.Errorf(model.ErrUnavailable, "the database does not answer"))
		return
	}
	body := gin.H{"status": "ok"}
	if s.bus != nil {
		body["bus"] = busState(s.bus())
	}
	c.JSON(http.StatusOK, body)
}

// readyz is readiness: 200 when the database answers and the cluster bus (if
// any) works; else 503 with the error envelope and which of the two is down.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	body := gin.H{"status": "ready", "database": "ok"}
	var down []string
	if err := s.health(ctx); err != nil {
		s.log.WarnContext(ctx, "readiness: the database does not answer", "err", err)
		body["database"] = "unavailable"
		down = append(down, "the database")
	}
	if s.bus != nil {
		body["bus"] = busState(s.bus())
		if body["bus"] != "ok" {
			down = append(down, "the cluster bus (Redis)")
		}
	}
	if len(down) > 0 {
		body["status"] = "unavailable"
		verb := " does not answer"
		if len(down) > 1 {
			verb = " do not answer"
		}
		body["error"] = errorDetail{Code: "unavailable", Message: strings.Join(down, " and ") + verb}
		c.JSON(http.StatusServiceUnavailable, body)
		return
	}
	c.JSON(http.StatusOK, body)
}

func busState(ok bool) string {
	if ok {
		return "ok"
	}
	return "degraded"
}
