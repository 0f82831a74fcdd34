package api

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"lechat/model"
)

const requestIDHeader = "X-Request-ID"

// withRequestID takes a sane X-Request-ID from the client or makes one, and echoes it.
func withRequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(requestIDHeader)
		if !validRequestID(id) {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Set(requestIDHeader, id)
		c.Header(requestIDHeader, id)
		c.Next()
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func requestID(c *gin.Context) string { return c.GetString(requestIDHeader) }

// logRequests logs one line per request: the route pattern, never the URL (it may
// carry a token), nor any body.
func logRequests(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "(unmatched)"
		}
		level := slog.LevelInfo
		if route == "/healthz" || route == "/readyz" || route == "/metrics" {
			level = slog.LevelDebug
		}
		log.Log(c.Request.Context(), level, "http request", "req_id", requestID(c),
			"method", c.Request.Method, "route", route, "status", c.Writer.Status(),
			"took_ms", time.Since(start).Milliseconds(), "ip", c.ClientIP(),
			"user_id", model.UserID(c.Request.Context()))
	}
}

// recoverPanics turns a panic into a logged stack and a 500 with the error envelope;
// the client never sees the stack.
func recoverPanics(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			log.ErrorContext(c.Request.Context(), "panic in handler", "req_id", requestID(c),
				"route", c.FullPath(), "panic", p, "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				c.AbortWithStatusJSON(http.StatusInternalServerError, errorBody{Error: errorDetail{
					Code: "internal", Message: "internal error"}})
			} else {
				c.Abort()
			}
		}()
		c.Next()
	}
}

// ownBodyLimit lists the routes that limit their bodies themselves (uploads),
// which limitBody leaves alone.
var ownBodyLimit = map[string]bool{uploadImagesPath: true}

// limitBody refuses bodies over limit: at once when Content-Length says so, else
// when reading passes it. Routes in ownBodyLimit are skipped.
func limitBody(limit int64, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if ownBodyLimit[c.FullPath()] {
			c.Next()
			return
		}
		if c.Request.ContentLength > limit {
			writeError(c, log, model.Errorf(model.ErrTooLarge, "the request body is larger than %d bytes", limit))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		c.Next()
	}
}

// securityHeaders sets the headers every answer carries.
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		c.Next()
	}
}

// cors answers preflights and marks answers readable by the allowed origins ("*"
// allows any). No cookies are involved: clients send a bearer token.
func cors(origins []string) gin.HandlerFunc {
	any := slices.Contains(origins, "*")
	return func(c *gin.Context) {
		if len(origins) > 0 { // answers differ by Origin: caches must know
			c.Writer.Header().Add("Vary", "Origin")
		}
		origin := c.GetHeader("Origin")
		if origin == "" {
			c.Next()
			return
		}
		if !any && !slices.Contains(origins, origin) {
			c.Next() // the browser will refuse the answer
			return
		}
		h := c.Writer.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "X-Request-ID, Retry-After")
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-ID")
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}

// requireAuth checks the bearer token and puts the user and token ids into the
// request's context.
func (s *Server) requireAuth() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			writeError(c, s.log, model.Errorf(model.ErrUnauthorized, "sign in first: send Authorization: Bearer <token>"))
			return
		}
		sess, err := s.accounts.Authenticate(c.Request.Context(), strings.TrimSpace(token))
		if err != nil {
			writeError(c, s.log, err)
			return
		}
		ctx := model.WithTokenID(model.WithUserID(c.Request.Context(), sess.UserID), sess.TokenID)
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// rateLimited answers 429 with Retry-After when the client's address is over lim.
func (s *Server) rateLimited(lim *ipLimiter) gin.HandlerFunc {
	return func(c *gin.Context) {
		if lim == nil {
			c.Next()
			return
		}
		if wait := lim.wait(c.ClientIP(), time.Now()); wait > 0 {
			c.Header("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
			writeError(c, s.log, model.Errorf(model.ErrRateLimited, "too many requests: try again in %d s",
				int((wait+time.Second-1)/time.Second)))
			return
		}
		c.Next()
	}
}
