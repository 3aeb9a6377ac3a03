package api

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v5"
	"golang.org/x/time/rate"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/realtime"
)

// Websocket limits. Every frame a client sends is treated as hostile.
const (
	wsReadLimit     = 64 << 10
	wsAuthTimeout   = 10 * time.Second
	wsWriteTimeout  = 10 * time.Second
	wsPingInterval  = 25 * time.Second
	wsPingTimeout   = 20 * time.Second
	wsQueueLen      = 512 // frames queued for one connection before it counts as slow
	wsFrameRate     = 20  // frames per second ...
	wsFrameBurst    = 40  // ... with this burst
	wsMaxViolations = 50  // rate-limit violations before disconnecting
	wsReplayLimit   = 500 // messages replayed per conversation on resume or gap
	wsSubprotocol   = "switchboard.v1"
)

const statusGoingAway = websocket.StatusGoingAway

// inFrame is every field any client frame may carry.
type inFrame struct {
	Type           string  `json:"type"`
	ID             string  `json:"id"`
	Token          string  `json:"token"`
	ConversationID int64   `json:"conversation_id"`
	ClientID       string  `json:"client_id"`
	Body           string  `json:"body"`
	AttachmentIDs  []int64 `json:"attachment_ids"`
	Private        bool    `json:"private"`
	Typing         bool    `json:"typing"`
	Preview        string  `json:"preview"`
	Seq            int64   `json:"seq"`
	Status         string  `json:"status"`
	URL            string  `json:"url"`
	Title          string  `json:"title"`
	Conversations  []struct {
		ConversationID int64 `json:"conversation_id"`
		LastSeq        int64 `json:"last_seq"`
	} `json:"conversations"`
}

// outItem is one unit of work for a connection's writer: a hub event to
// order and send, a ready frame, or a function run on the writer (resume).
type outItem struct {
	ev    *realtime.Event
	frame []byte
	fn    func(ctx context.Context) error
}

// wsConn is one websocket client. One goroutine reads, one writes; the
// writer alone owns lastSeq, so ordering needs no lock.
type wsConn struct {
	s     *Server
	id    string
	kind  string // "visitor" | "agent"
	ws    *websocket.Conn
	actor actor
	site  *chat.Site // visitors only

	ctx    context.Context
	cancel context.CancelFunc
	out    chan outItem

	closeOnce sync.Once
	lastSeq   map[int64]int64 // conversation id -> last seq sent (writer only)
	firstLive map[int64]int64 // conversation id -> first seq sent live before any resume (writer only)
	known     map[int64]*chat.Conversation
}

func (s *Server) visitorWS(c *echo.Context) error {
	resume, err := parseResume(c.QueryParam("resume"))
	if err != nil {
		return err
	}
	// Visitors connect from the widget iframe (our origin) or a site's own
	// pages; the origin is checked against the site after authentication.
	ws, err := websocket.Accept(c.Response(), c.Request(), &websocket.AcceptOptions{
		InsecureSkipVerify: true, Subprotocols: []string{wsSubprotocol},
	})
	if err != nil {
		return nil // Accept has written the HTTP error
	}
	ws.SetReadLimit(wsReadLimit)
	ctx := c.Request().Context()
	token := subprotocolToken(c.Request().Header.Values("Sec-WebSocket-Protocol"))
	if token == "" {
		actx, cancel := context.WithTimeout(ctx, wsAuthTimeout)
		var f inFrame
		_, data, err := ws.Read(actx)
		cancel()
		if err != nil || json.Unmarshal(data, &f) != nil || f.Type != "auth" || f.Token == "" {
			ws.Close(websocket.StatusPolicyViolation, "first frame must be auth")
			return nil
		}
		token = f.Token
	}
	v, _, err := s.store.VisitorBySession(ctx, HashToken(token))
	if err != nil {
		s.writeError(ctx, ws, "", err)
		ws.Close(websocket.StatusPolicyViolation, "unauthorized")
		return nil
	}
	site, err := s.store.Site(ctx, v.WorkspaceID, v.SiteID)
	if err != nil || !s.originAllowed(c.Request(), site) {
		ws.Close(websocket.StatusPolicyViolation, "origin not allowed")
		return nil
	}
	s.serveConn(ctx, ws, "visitor", actor{visitor: v}, site, resume)
	return nil
}

func (s *Server) agentWS(c *echo.Context) error {
	resume, err := parseResume(c.QueryParam("resume"))
	if err != nil {
		return err
	}
	r := c.Request()
	agent, sess, err := s.authenticateAgent(r)
	if err != nil {
		return err
	}
	// A cookie can be sent by any page the agent visits, so a cookie-
	// authenticated socket must come from our own origin.
	if sess != nil && !s.sameOrigin(r) {
		return chat.Errorf(chat.EFORBIDDEN, "cross-origin websocket refused")
	}
	ws, err := websocket.Accept(c.Response(), r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // checked above, including for PublicURL setups
		Subprotocols:       []string{wsSubprotocol},
	})
	if err != nil {
		return nil
	}
	ws.SetReadLimit(wsReadLimit)
	s.serveConn(r.Context(), ws, "agent", actor{agent: agent}, nil, resume)
	return nil
}

// subprotocolToken finds "bearer.TOKEN" among the offered subprotocols.
func subprotocolToken(values []string) string {
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if strings.HasPrefix(p, "bearer.") {
				return strings.TrimPrefix(p, "bearer.")
			}
		}
	}
	return ""
}

func (s *Server) writeError(ctx context.Context, ws *websocket.Conn, id string, err error) {
	wctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
	defer cancel()
	_ = ws.Write(wctx, websocket.MessageText, errorFrame(id, err))
}

func errorFrame(id string, err error) []byte {
	return mustJSON(map[string]any{"type": "error", "id": id, "code": chat.ErrorCode(err), "message": chat.ErrorMessage(err)})
}

// serveConn runs an authenticated connection until it closes.
func (s *Server) serveConn(parent context.Context, ws *websocket.Conn, kind string, a actor, site *chat.Site, resume []resumePos) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	id, _ := NewToken("")
	c := &wsConn{s: s, id: id[:16], kind: kind, ws: ws, actor: a, site: site, ctx: ctx, cancel: cancel,
		out: make(chan outItem, wsQueueLen), lastSeq: map[int64]int64{}, firstLive: map[int64]int64{}, known: map[int64]*chat.Conversation{}}

	s.connsMu.Lock()
	if s.shutdown {
		s.connsMu.Unlock()
		ws.Close(statusGoingAway, "server shutting down")
		return
	}
	s.conns[c] = struct{}{}
	s.connsWG.Add(1)
	s.connsMu.Unlock()
	wsConnections.WithLabelValues(kind).Inc()
	defer func() {
		s.connsMu.Lock()
		delete(s.conns, c)
		s.connsMu.Unlock()
		wsConnections.WithLabelValues(kind).Dec()
		s.connsWG.Done()
	}()

	hello := map[string]any{"type": "hello", "server_time": time.Now().UTC(), "heartbeat_seconds": int(wsPingInterval / time.Second)}
	if a.isAgent() {
		hello["agent"] = a.agent
		// Back after a drop: colleagues who saw them go offline see their status again.
		s.publish(ctx, workspaceTopic(a.agent.WorkspaceID), &realtime.Event{Kind: "presence",
			Frame: mustJSON(map[string]any{"type": "presence", "agent_id": a.agent.ID, "status": a.agent.Status})})
	} else {
		hello["visitor"] = a.visitor
		s.publish(ctx, workspaceTopic(a.visitor.WorkspaceID), visitorPresence(a.visitor.ID, true))
	}
	// Runs after leave (deferred below): only the last connection's close
	// says the person is gone.
	defer s.announceGone(c)
	c.enqueue(outItem{frame: mustJSON(hello)})

	// Positions given at connect time are replayed before the connection
	// subscribes, so live messages can only follow them: strict order.
	for _, rp := range resume {
		if _, err := c.conversation(rp.ConversationID); err != nil {
			c.enqueue(outItem{frame: errorFrame("resume", err)})
			continue
		}
		c.lastSeq[rp.ConversationID] = rp.LastSeq
		c.enqueue(outItem{fn: func(context.Context) error { return c.replay(rp.ConversationID, rp.LastSeq, 0) }})
	}
	if len(resume) > 0 {
		c.enqueue(outItem{frame: mustJSON(map[string]any{"type": "resumed", "id": "connect"})})
	}

	topics := c.topics()
	for _, t := range topics {
		if err := s.hub.Subscribe(ctx, t, c); err != nil {
			s.log.Error("subscribe failed", "topic", t, "err", err)
			c.close(websocket.StatusTryAgainLater, "try again")
		}
	}
	defer func() {
		for _, t := range topics {
			s.hub.Unsubscribe(context.Background(), t, c)
		}
	}()
	s.heartbeat(ctx, c)
	defer s.leave(c)
	if a.isAgent() {
		s.capacityChanged(a.agent.WorkspaceID) // an agent connecting may drain the queue
	}

	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); c.writeLoop() }()
	go func() { defer wg.Done(); c.pingLoop() }()
	go func() { defer wg.Done(); c.presenceLoop() }()
	c.readLoop()
	c.close(websocket.StatusNormalClosure, "")
	wg.Wait()
}

func (c *wsConn) topics() []string {
	if c.actor.isAgent() {
		return []string{workspaceTopic(c.actor.agent.WorkspaceID), agentTopic(c.actor.agent.ID)}
	}
	return []string{visitorTopic(c.actor.visitor.ID)}
}

// close ends the connection once, with a status the client can act on.
func (c *wsConn) close(status websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		if status != websocket.StatusNormalClosure {
			wsDisconnects.WithLabelValues(reason).Inc()
		}
		// Close sends the status and waits (bounded) for the peer's answer,
		// which the reader receives; only then stop the loops, because a
		// cancelled Read would drop the connection without a close frame.
		// It runs apart so the hub or the reader never waits for it.
		go func() {
			c.ws.Close(status, reason)
			c.cancel()
		}()
	})
}

// Deliver is called by the hub; it never blocks.
func (c *wsConn) Deliver(ev *realtime.Event) {
	if ev.Origin != "" && ev.Origin == c.id && ev.Kind != "message" {
		return // don't echo a client's own typing or read events
	}
	c.enqueue(outItem{ev: ev})
}

// enqueue hands work to the writer; a full queue means the client cannot
// keep up, and it is cut off (it will resume) rather than slowing anyone.
func (c *wsConn) enqueue(it outItem) {
	select {
	case <-c.ctx.Done():
	case c.out <- it:
	default:
		c.close(websocket.StatusPolicyViolation, "slow consumer")
	}
}

func (c *wsConn) writeLoop() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case it := <-c.out:
			var err error
			switch {
			case it.fn != nil:
				err = it.fn(c.ctx)
			case it.ev != nil:
				err = c.writeEvent(it.ev)
			default:
				err = c.write(it.frame)
			}
			if err != nil {
				if c.ctx.Err() == nil {
					c.s.log.Debug("websocket write failed", "conn", c.id, "err", err)
				}
				c.close(websocket.StatusInternalError, "write failed")
				return
			}
		}
	}
}

func (c *wsConn) write(frame []byte) error {
	ctx, cancel := context.WithTimeout(c.ctx, wsWriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, frame)
}

// writeEvent sends a hub event; message events go out in seq order with
// any gap filled from the database first.
func (c *wsConn) writeEvent(ev *realtime.Event) error {
	if ev.Kind == kindDisconnect {
		// The agent was deactivated or logged out everywhere: end the socket.
		c.close(websocket.StatusPolicyViolation, "session ended")
		return nil
	}
	if ev.Kind != "message" || ev.ConversationID == 0 {
		return c.write(ev.Frame)
	}
	last, seen := c.lastSeq[ev.ConversationID]
	if !seen {
		c.firstLive[ev.ConversationID] = ev.Seq
	}
	if seen && ev.Seq <= last {
		return nil // already sent (replayed or duplicate)
	}
	if seen && ev.Seq > last+1 {
		gapFills.Inc()
		if err := c.replay(ev.ConversationID, last, ev.Seq-1); err != nil {
			return err
		}
	}
	c.lastSeq[ev.ConversationID] = ev.Seq
	if ev.Frame == nil {
		return nil // a note, which visitors never see; only the seq moves
	}
	return c.write(ev.Frame)
}

// replay sends the messages of a conversation with afterSeq < seq <= upTo
// (upTo 0 = everything), or a gap frame when there are too many.
func (c *wsConn) replay(convID, afterSeq, upTo int64) error {
	conv, err := c.s.store.Conversation(c.ctx, c.actor.workspaceID(), convID)
	if err != nil {
		return err
	}
	target := upTo
	if target == 0 {
		target = conv.LastSeq
	}
	msgs, err := c.s.store.Messages(c.ctx, conv.WorkspaceID, convID, afterSeq, wsReplayLimit, c.actor.isAgent())
	if err != nil {
		return err
	}
	if len(msgs) == wsReplayLimit && msgs[len(msgs)-1].Seq < target {
		// Too much for the socket: say so; the client refetches over REST.
		c.lastSeq[convID] = max(c.lastSeq[convID], conv.LastSeq, upTo)
		return c.write(mustJSON(map[string]any{"type": "gap", "conversation_id": convID, "after_seq": afterSeq}))
	}
	sent := afterSeq
	for _, m := range msgs {
		if upTo != 0 && m.Seq > upTo {
			break
		}
		if err := c.write(mustJSON(map[string]any{"type": "message", "message": m})); err != nil {
			return err
		}
		sent = m.Seq
	}
	// Everything up to the snapshot (or upTo) was covered, visible or not:
	// notes consume seqs that visitors never get.
	if upTo != 0 {
		sent = max(sent, upTo)
	} else {
		sent = max(sent, conv.LastSeq)
	}
	c.lastSeq[convID] = max(c.lastSeq[convID], sent)
	return nil
}

// resume replays what a client missed after lastSeq. When live messages of
// the conversation already went out on this connection (they raced the
// resume frame), only the part before the first of them is replayed: it
// arrives after them, but nothing is lost or sent twice. Resume positions
// given when connecting (?resume=) avoid that race entirely.
func (c *wsConn) resume(convID, lastSeq int64) error {
	if first, ok := c.firstLive[convID]; ok && first > lastSeq+1 {
		if c.lastSeq[convID] >= first {
			return c.replay(convID, lastSeq, first-1)
		}
	}
	return c.replay(convID, lastSeq, 0)
}

type resumePos struct {
	ConversationID int64 `json:"conversation_id"`
	LastSeq        int64 `json:"last_seq"`
}

// parseResume reads "?resume=ID:SEQ,ID:SEQ" (at most 100 positions).
func parseResume(v string) ([]resumePos, error) {
	if v == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	if len(parts) > 100 {
		return nil, chat.Errorf(chat.EINVALID, "resume at most 100 conversations at once")
	}
	out := make([]resumePos, 0, len(parts))
	for _, p := range parts {
		id, seq, ok := strings.Cut(p, ":")
		cid, err1 := strconv.ParseInt(id, 10, 64)
		s, err2 := strconv.ParseInt(seq, 10, 64)
		if !ok || err1 != nil || err2 != nil || cid <= 0 || s < 0 {
			return nil, chat.Errorf(chat.EINVALID, "resume must look like 12:40,13:7")
		}
		out = append(out, resumePos{cid, s})
	}
	return out, nil
}

func (c *wsConn) pingLoop() {
	t := time.NewTicker(wsPingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(c.ctx, wsPingTimeout)
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil {
				c.close(websocket.StatusPolicyViolation, "ping timeout")
				return
			}
		}
	}
}

// presenceLoop keeps the connection's presence alive while it lasts.
func (c *wsConn) presenceLoop() {
	t := time.NewTicker(c.s.cfg.PresenceEvery)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			c.s.heartbeat(c.ctx, c)
		}
	}
}

func (c *wsConn) readLoop() {
	limiter := rate.NewLimiter(rate.Limit(c.s.cfg.FrameRate), c.s.cfg.FrameBurst)
	violations := 0
	for {
		typ, data, err := c.ws.Read(c.ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) && ce.Code == websocket.StatusMessageTooBig {
				wsDisconnects.WithLabelValues("frame too large").Inc()
			}
			return
		}
		if !limiter.Allow() {
			violations++
			if violations > wsMaxViolations {
				c.close(websocket.StatusPolicyViolation, "rate limit exceeded")
				return
			}
			c.enqueue(outItem{frame: errorFrame("", chat.Errorf(chat.ERATELIMIT, "too many frames; slow down"))})
			continue
		}
		if typ != websocket.MessageText {
			c.enqueue(outItem{frame: errorFrame("", chat.Errorf(chat.EINVALID, "frames must be JSON text"))})
			continue
		}
		var f inFrame
		if err := json.Unmarshal(data, &f); err != nil {
			c.enqueue(outItem{frame: errorFrame("", chat.Errorf(chat.EINVALID, "malformed JSON frame"))})
			continue
		}
		if len(f.ID) > 64 {
			f.ID = f.ID[:64]
		}
		if err := c.handle(&f); err != nil {
			c.enqueue(outItem{frame: errorFrame(f.ID, err)})
		}
	}
}

// conversation returns a conversation this connection may use, cached so
// that typing and read frames don't hit the database each time.
func (c *wsConn) conversation(id int64) (*chat.Conversation, error) {
	if conv, ok := c.known[id]; ok {
		return conv, nil
	}
	conv, err := c.s.conversationFor(c.ctx, c.actor, id)
	if err != nil {
		return nil, err
	}
	if len(c.known) > 1000 {
		clear(c.known)
	}
	c.known[id] = conv
	return conv, nil
}

func (c *wsConn) handle(f *inFrame) error {
	switch f.Type {
	case "send":
		msg, _, err := c.s.send(c.ctx, c.actor, sendInput{ConversationID: f.ConversationID, ClientID: f.ClientID,
			Body: f.Body, AttachmentIDs: f.AttachmentIDs, Private: f.Private})
		if err != nil {
			return err
		}
		c.enqueue(outItem{frame: mustJSON(map[string]any{"type": "ack", "id": f.ID, "message": msg})})
	case "typing":
		conv, err := c.conversation(f.ConversationID)
		if err != nil {
			return err
		}
		c.publishTyping(conv, f)
	case "read":
		return c.s.markRead(c.ctx, c.actor, f.ConversationID, f.Seq, c.id)
	case "resume":
		if len(f.Conversations) > 100 {
			return chat.Errorf(chat.EINVALID, "resume at most 100 conversations at once")
		}
		for _, rc := range f.Conversations {
			if rc.LastSeq < 0 {
				return chat.Errorf(chat.EINVALID, "last_seq must not be negative")
			}
			if _, err := c.conversation(rc.ConversationID); err != nil {
				return err
			}
		}
		req := *f
		c.enqueue(outItem{fn: func(context.Context) error {
			for _, rc := range req.Conversations {
				if err := c.resume(rc.ConversationID, rc.LastSeq); err != nil {
					return err
				}
			}
			return c.write(mustJSON(map[string]any{"type": "resumed", "id": req.ID}))
		}})
	case "presence":
		if !c.actor.isAgent() {
			return chat.Errorf(chat.EFORBIDDEN, "only agents set presence")
		}
		return c.s.setAgentStatus(c.ctx, c.actor.agent, f.Status)
	case "page":
		if c.actor.isAgent() {
			return chat.Errorf(chat.EFORBIDDEN, "only visitors report pages")
		}
		return c.s.trackPage(c.ctx, c.actor.visitor, f.URL, f.Title)
	case "ping":
		c.enqueue(outItem{frame: mustJSON(map[string]any{"type": "pong", "id": f.ID, "server_time": time.Now().UTC()})})
	case "auth":
		return chat.Errorf(chat.EINVALID, "already authenticated")
	case "":
		return chat.Errorf(chat.EINVALID, "frame has no type")
	default:
		return chat.Errorf(chat.EINVALID, "unknown frame type %q", truncate(f.Type, 32))
	}
	return nil
}

func (c *wsConn) publishTyping(conv *chat.Conversation, f *inFrame) {
	frame := map[string]any{"type": "typing", "conversation_id": conv.ID, "typing": f.Typing}
	if c.actor.isAgent() {
		frame["author_type"], frame["author_id"], frame["author_name"] = chat.AuthorAgent, c.actor.agent.ID, c.actor.agent.Name
		ev := &realtime.Event{Kind: "typing", Origin: c.id, Frame: mustJSON(frame)}
		c.s.publish(c.ctx, visitorTopic(conv.VisitorID), ev)
		c.s.publish(c.ctx, workspaceTopic(conv.WorkspaceID), ev)
		return
	}
	frame["author_type"], frame["author_id"] = chat.AuthorVisitor, c.actor.visitor.ID
	// The live preview of what a visitor types is shown only where the site
	// enabled it (the widget tells the visitor so).
	if c.site != nil && c.site.Settings.TypingPreview && f.Typing {
		frame["preview"] = truncate(f.Preview, 500)
	}
	c.s.publish(c.ctx, workspaceTopic(conv.WorkspaceID), &realtime.Event{Kind: "typing", Origin: c.id, Frame: mustJSON(frame)})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
