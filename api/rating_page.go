package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/rating"
)

// The page behind the links of an emailed rating request (workers'
// RatingRequests): GET shows the form with the linked score chosen, POST
// records the rating. The signed query (w, e, s) is the credential.

// ratingLink checks the link's signed query and loads the conversation and
// the page's look. A bad, expired or purged link is not an error for the
// visitor: conv is nil and d is the "expired" page.
func (s *Server) ratingLink(c *echo.Context) (conv *chat.Conversation, d rating.PageData, err error) {
	q := c.Request().URL.Query()
	d = rating.PageData{State: rating.PageInvalid, Locale: acceptLanguage(c)}
	id, perr := strconv.ParseInt(c.Param("id"), 10, 64)
	if perr != nil || id <= 0 {
		return nil, d, nil
	}
	ctx := c.Request().Context()
	key, err := s.store.LinkKey(ctx, chat.LinkKeyRatings)
	if err != nil {
		return nil, d, err
	}
	ws, ok := chat.VerifyLink(key, chat.LinkPurposeRating, id, q.Get("w"), q.Get("e"), q.Get("s"), time.Now())
	if !ok {
		return nil, d, nil
	}
	conv, err = s.store.Conversation(ctx, ws, id)
	if chat.ErrorCode(err) == chat.ENOTFOUND {
		return nil, d, nil // purged since the email went out
	} else if err != nil {
		return nil, d, err
	}
	site, err := s.store.Site(ctx, ws, conv.SiteID)
	if err != nil {
		return nil, d, err
	}
	v, err := s.store.Visitor(ctx, ws, conv.VisitorID)
	if err != nil {
		return nil, d, err
	}
	d = rating.PageData{State: rating.PageForm, Site: site.Name, Locale: v.Locale, Color: site.Settings.Color,
		Action: c.Request().URL.Path + "?" + signedQuery(q)}
	if conv.Status != chat.ConvClosed {
		d.State = rating.PageReopened
	}
	if conv.Rating != nil {
		d.Current = *conv.Rating
	}
	return conv, d, nil
}

func (s *Server) ratingPage(c *echo.Context) error {
	conv, d, err := s.ratingLink(c)
	if err != nil {
		return err
	}
	if conv == nil {
		return s.renderRating(c, http.StatusNotFound, d)
	}
	d.Score, _ = strconv.Atoi(c.QueryParam("score"))
	return s.renderRating(c, http.StatusOK, d)
}

func (s *Server) submitRating(c *echo.Context) error {
	conv, d, err := s.ratingLink(c)
	if err != nil {
		return err
	}
	if conv == nil {
		return s.renderRating(c, http.StatusNotFound, d)
	}
	d.State = rating.PageForm
	score, err := strconv.Atoi(c.Request().PostFormValue("score"))
	if err != nil || score < 1 || score > 5 {
		return s.renderRating(c, http.StatusBadRequest, d)
	}
	ctx := c.Request().Context()
	rated, err := s.store.RateConversation(ctx, conv.WorkspaceID, conv.ID, conv.VisitorID, score, c.Request().PostFormValue("comment"))
	switch chat.ErrorCode(err) {
	case "":
	case chat.ECONFLICT:
		d.State = rating.PageReopened
		return s.renderRating(c, http.StatusConflict, d)
	case chat.EINVALID:
		d.Score = score
		return s.renderRating(c, http.StatusBadRequest, d)
	default:
		return err
	}
	s.publishConversation(ctx, rated)
	d.State = rating.PageThanks
	return s.renderRating(c, http.StatusOK, d)
}

// signedQuery keeps only the link's credential for the form's action.
func signedQuery(q url.Values) string {
	keep := url.Values{}
	for _, k := range []string{"w", "e", "s"} {
		keep.Set(k, q.Get(k))
	}
	return keep.Encode()
}

func acceptLanguage(c *echo.Context) string {
	l, _, _ := strings.Cut(c.Request().Header.Get("Accept-Language"), ",")
	l, _, _ = strings.Cut(l, ";")
	return l
}

func (s *Server) renderRating(c *echo.Context, status int, d rating.PageData) error {
	body, err := rating.Page(d)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	return c.HTMLBlob(status, body)
}
