package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"lechat/model"
)

// bindJSON decodes the request body, one JSON object, into dst. Every way a body
// can be wrong gets ErrInvalid with a message that says how, or ErrTooLarge.
func bindJSON(c *gin.Context, dst any) error {
	dec := json.NewDecoder(c.Request.Body)
	err := dec.Decode(dst)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("trailing data")
			var mbe *http.MaxBytesError
			if errors.As(extra, &mbe) {
				err = extra
			}
		}
	}
	if err == nil {
		return nil
	}
	var (
		syntax   *json.SyntaxError
		typeErr  *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return model.Errorf(model.ErrTooLarge, "the request body is larger than %d bytes", tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return model.Errorf(model.ErrInvalid, "the request body is empty: send a JSON object")
	case errors.As(err, &syntax):
		return model.Errorf(model.ErrInvalid, "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return model.Errorf(model.ErrInvalid, "the request body must be a JSON object")
		}
		return model.FieldErrorf(model.ErrInvalid, typeErr.Field, "%s must be of type %s, not %s",
			typeErr.Field, jsonType(typeErr.Type.Kind().String()), typeErr.Value)
	}
	return model.Errorf(model.ErrInvalid, "malformed JSON body")
}

// jsonType names a Go kind the way a JSON client would.
func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "slice", "array":
		return "array"
	}
	return "object"
}

// pathID reads a positive integer path parameter. Returns ErrNotFound otherwise, as
// no such resource can exist.
func pathID(c *gin.Context, name string) (uint64, error) {
	id, err := strconv.ParseUint(c.Param(name), 10, 64)
	if err != nil || id == 0 {
		return 0, model.Errorf(model.ErrNotFound, "no %s %q", name, c.Param(name))
	}
	return id, nil
}

// queryInt reads an optional integer query parameter. Returns ErrInvalid.
func queryInt(c *gin.Context, name string) (int, error) {
	s := c.Query(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, model.FieldErrorf(model.ErrInvalid, name, "%s must be an integer", name)
	}
	return n, nil
}

// errRequired is the error for a missing request field.
func errRequired(field string) error {
	return model.FieldErrorf(model.ErrInvalid, field, "%s is required", field)
}
