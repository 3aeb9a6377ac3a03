package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// statusByCode is the one place domain error codes become HTTP statuses.
var statusByCode = map[string]int{
	chat.EINVALID:      http.StatusBadRequest,
	chat.EUNAUTHORIZED: http.StatusUnauthorized,
	chat.EFORBIDDEN:    http.StatusForbidden,
	chat.ENOTFOUND:     http.StatusNotFound,
	chat.ECONFLICT:     http.StatusConflict,
	chat.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	chat.ELOCKED:       http.StatusLocked,
	chat.ERATELIMIT:    http.StatusTooManyRequests,
	chat.EUNAVAILABLE:  http.StatusServiceUnavailable,
	chat.EINTERNAL:     http.StatusInternalServerError,
}

// codeByStatus translates errors raised by Echo itself (unknown route, body
// limit) back into domain codes so every error body has the same shape.
var codeByStatus = map[int]string{
	http.StatusBadRequest:            chat.EINVALID,
	http.StatusUnauthorized:          chat.EUNAUTHORIZED,
	http.StatusForbidden:             chat.EFORBIDDEN,
	http.StatusNotFound:              chat.ENOTFOUND,
	http.StatusMethodNotAllowed:      chat.ENOTFOUND,
	http.StatusRequestEntityTooLarge: chat.ETOOLARGE,
	http.StatusTooManyRequests:       chat.ERATELIMIT,
	http.StatusServiceUnavailable:    chat.EUNAVAILABLE,
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// handleError writes every handler error as {"error":{"code","message"}}.
func (s *Server) handleError(c *echo.Context, err error) {
	if resp, uErr := echo.UnwrapResponse(c.Response()); uErr == nil && resp.Committed {
		return
	}
	var code, msg string
	var sc echo.HTTPStatusCoder
	var domainErr *chat.Error
	switch {
	case errors.As(err, &domainErr):
		code, msg = domainErr.Code, domainErr.Message
	case errors.As(err, &sc):
		code = codeByStatus[sc.StatusCode()]
		if code == "" {
			code = chat.EINTERNAL
		}
		msg = http.StatusText(sc.StatusCode())
		if code == chat.ETOOLARGE {
			msg = "request body too large"
		}
	default:
		code, msg = chat.EINTERNAL, "internal error"
	}
	status := statusByCode[code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		s.log.Error("request failed", "err", err, "path", c.Request().URL.Path, "request_id", requestID(c))
	}
	var body errorBody
	body.Error.Code, body.Error.Message = code, msg
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

// decodeJSON reads a JSON body into v with a clear error for each way it can
// be wrong. Unknown fields are allowed so clients can be newer than servers.
func decodeJSON(c *echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		var he echo.HTTPStatusCoder
		switch {
		case errors.As(err, &tooLarge), errors.As(err, &he) && he.StatusCode() == http.StatusRequestEntityTooLarge:
			return chat.Errorf(chat.ETOOLARGE, "request body too large")
		case errors.Is(err, io.EOF):
			return chat.Errorf(chat.EINVALID, "request body must be a JSON object")
		default:
			return chat.Errorf(chat.EINVALID, "malformed JSON: %v", err)
		}
	}
	if dec.More() {
		return chat.Errorf(chat.EINVALID, "request body must hold one JSON value")
	}
	return nil
}
