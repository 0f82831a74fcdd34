package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"lechat/model"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[string]int{
	"invalid_request":        http.StatusBadRequest,
	"unauthorized":           http.StatusUnauthorized,
	"forbidden":              http.StatusForbidden,
	"not_found":              http.StatusNotFound,
	"conflict":               http.StatusConflict,
	"account_inactive":       http.StatusForbidden,
	"rate_limited":           http.StatusTooManyRequests,
	"payload_too_large":      http.StatusRequestEntityTooLarge,
	"unsupported_media_type": http.StatusUnsupportedMediaType,
	"unavailable":            http.StatusServiceUnavailable,
	"internal":               http.StatusInternalServerError,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// writeError answers with err's code and safe message. An internal error is logged
// here, once, and the client sees only "internal error".
func writeError(c *gin.Context, log *slog.Logger, err error) {
	code := model.Code(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if code == "internal" {
		log.ErrorContext(c.Request.Context(), "request failed", "req_id", requestID(c),
			"route", c.FullPath(), "user_id", model.UserID(c.Request.Context()), "err", err)
	}
	if errors.Is(err, model.ErrUnauthorized) {
		c.Header("WWW-Authenticate", `Bearer realm="lechat"`)
	}
	c.AbortWithStatusJSON(status, errorBody{Error: errorDetail{Code: code,
		Message: model.ErrorMessage(err), Field: model.Field(err)}})
}
