package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"golang.org/x/crypto/argon2"

	"github.com/switchboard-chat/switchboard/api/chat"
)

const (
	sessionCookie   = "sb_session"
	sessionLifetime = 14 * 24 * time.Hour
	visitorLifetime = 365 * 24 * time.Hour
	minPasswordLen  = 8

	// maxFailedLogins within failedLoginWindow lock an email (on every
	// node: the count is in the database) until the oldest ages out.
	maxFailedLogins   = 10
	failedLoginWindow = 15 * time.Minute
)

// Token prefixes make leaked tokens recognisable (and greppable by scanners).
const (
	prefixSession = "sbs_"
	prefixVisitor = "sbv_"
	prefixAPI     = "sbk_"
	prefixSetPass = "sbp_"
)

// argon2id parameters (OWASP's 19 MiB, 2 iterations, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) (string, error) {
	if len(password) < minPasswordLen {
		return "", chat.Errorf(chat.EINVALID, "password must have at least %d characters", minPasswordLen)
	}
	if len(password) > 1024 {
		return "", chat.Errorf(chat.EINVALID, "password is too long")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches a HashPassword hash.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var mem uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// NewToken returns a random token with a prefix and the hash to store.
func NewToken(prefix string) (token, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the OS random source never fails on supported platforms
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is how every token is stored: sha256, hex. Tokens are 256-bit
// random, so a fast hash is enough.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

type meResponse struct {
	Agent     *chat.Agent `json:"agent"`
	CSRFToken string      `json:"csrf_token,omitempty"`
}

func (s *Server) login(c *echo.Context) error {
	if !s.sameOrigin(c.Request()) {
		return chat.Errorf(chat.EFORBIDDEN, "cross-origin login refused")
	}
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if email == "" || in.Password == "" {
		return chat.Errorf(chat.EINVALID, "email and password are required")
	}
	ctx := c.Request().Context()
	if locked, err := s.logins.locked(ctx, email); err != nil {
		return err
	} else if locked {
		return chat.Errorf(chat.ELOCKED, "too many failed logins; try again in 15 minutes")
	}
	agent, err := s.store.AgentByEmail(ctx, email)
	if err != nil && chat.ErrorCode(err) != chat.ENOTFOUND {
		return err
	}
	if agent == nil || !agent.Active || !CheckPassword(agent.PasswordHash, in.Password) {
		if err := s.logins.record(ctx, email); err != nil {
			return err // not counted: refuse rather than allow unbounded guesses
		}
		return chat.Errorf(chat.EUNAUTHORIZED, "wrong email or password")
	}
	if err := s.logins.reset(ctx, email); err != nil {
		s.log.Warn("login: clear failed logins", "err", err)
	}
	token, hash := NewToken(prefixSession)
	csrf, _ := NewToken("")
	sess, err := s.store.CreateAgentSession(ctx, agent.ID, hash, csrf, time.Now().Add(sessionLifetime))
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode, Expires: sess.ExpiresAt,
	})
	s.audit(c, agent, "agent.login", fmt.Sprintf("agent:%d", agent.ID), nil)
	return c.JSON(http.StatusOK, meResponse{Agent: agent, CSRFToken: csrf})
}

func (s *Server) logout(c *echo.Context) error {
	ck, err := c.Cookie(sessionCookie)
	if err == nil && ck.Value != "" {
		ctx := c.Request().Context()
		_, sess, err := s.store.AgentBySession(ctx, HashToken(ck.Value))
		if err == nil {
			if !s.sameOrigin(c.Request()) || !csrfMatches(c, sess.CSRFToken) {
				return chat.Errorf(chat.EFORBIDDEN, "missing or wrong CSRF token")
			}
			if err := s.store.DeleteAgentSession(ctx, HashToken(ck.Value)); err != nil {
				return err
			}
		}
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) setPassword(c *echo.Context) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Token == "" {
		return chat.Errorf(chat.EINVALID, "token is required")
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return err
	}
	agent, err := s.store.ConsumeSetPasswordToken(c.Request().Context(), HashToken(in.Token), hash)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, meResponse{Agent: agent})
}

func (s *Server) me(c *echo.Context) error {
	resp := meResponse{Agent: currentAgent(c)}
	if sess, ok := c.Get(ctxSession).(*chat.AgentSession); ok {
		resp.CSRFToken = sess.CSRFToken
	}
	return c.JSON(http.StatusOK, resp)
}

// Context keys.
const (
	ctxAgent   = "sb.agent"
	ctxSession = "sb.session"
	ctxVisitor = "sb.visitor"
)

func currentAgent(c *echo.Context) *chat.Agent { a, _ := c.Get(ctxAgent).(*chat.Agent); return a }
func currentVisitor(c *echo.Context) *chat.Visitor {
	v, _ := c.Get(ctxVisitor).(*chat.Visitor)
	return v
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func csrfMatches(c *echo.Context, want string) bool {
	got := c.Request().Header.Get("X-CSRF-Token")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// authenticateAgent resolves the agent from an API token or the session
// cookie. The session is nil for API tokens.
func (s *Server) authenticateAgent(r *http.Request) (*chat.Agent, *chat.AgentSession, error) {
	ctx := r.Context()
	if tok := bearer(r); tok != "" {
		if !strings.HasPrefix(tok, prefixAPI) {
			return nil, nil, chat.Errorf(chat.EUNAUTHORIZED, "invalid API token")
		}
		a, err := s.store.AgentByAPIToken(ctx, HashToken(tok))
		return a, nil, err
	}
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, nil, chat.Errorf(chat.EUNAUTHORIZED, "not logged in")
	}
	return s.store.AgentBySession(ctx, HashToken(ck.Value))
}

// requireAgent authenticates an agent; cookie-authenticated writes must
// also come from this origin with the session's CSRF token.
func (s *Server) requireAgent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		agent, sess, err := s.authenticateAgent(c.Request())
		if err != nil {
			return err
		}
		if sess != nil && !safeMethod(c.Request().Method) {
			if !s.sameOrigin(c.Request()) || !csrfMatches(c, sess.CSRFToken) {
				return chat.Errorf(chat.EFORBIDDEN, "missing or wrong CSRF token")
			}
		}
		c.Set(ctxAgent, agent)
		if sess != nil {
			c.Set(ctxSession, sess)
		}
		return next(c)
	}
}

// requireVisitor authenticates a widget's bearer token.
func (s *Server) requireVisitor(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		tok := bearer(c.Request())
		if tok == "" {
			return chat.Errorf(chat.EUNAUTHORIZED, "missing visitor token")
		}
		v, _, err := s.store.VisitorBySession(c.Request().Context(), HashToken(tok))
		if err != nil {
			return err
		}
		c.Set(ctxVisitor, v)
		return next(c)
	}
}

func (s *Server) audit(c *echo.Context, a *chat.Agent, action, target string, data []byte) {
	err := s.store.Audit(c.Request().Context(), &chat.AuditEntry{
		WorkspaceID: a.WorkspaceID, ActorType: chat.AuthorAgent, ActorID: a.ID,
		Action: action, Target: target, Data: data,
	})
	if err != nil {
		s.log.Warn("audit write failed", "err", err, "action", action)
	}
}
