// The console's state hub: the socket, the inbox list, the open conversation,
// presence, alerts and keyboard shortcuts. The pieces it renders live in
// inbox.tsx, conversation.tsx, sidebar.tsx and settings.tsx.

import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, csrfToken, items, qs, unwrap, uuid } from './api';
import { chime, notify, prefsOf, unlockAudio, wants, type AlertKind } from './alerts';
import { ConversationPane, type Pending } from './conversation';
import { errorText, visitorName } from './format';
import { Inbox, NavSidebar, VIEWS, type Scope } from './inbox';
import { Settings } from './settings';
import { VisitorPanel, type VisitorExtra } from './sidebar';
import { AgentSocket } from './socket';
import { Tabs, type TabMessage } from './tabs';
import type {
  Agent,
  AttachmentRef,
  Canned,
  Conversation,
  Counts,
  Frame,
  Label,
  Message,
  Query,
  ReadMarker,
  SavedFilter,
  Site,
  Team,
  View,
  Visitor,
} from './types';
import { Dialog, Kbd, Toasts, toast } from './ui';

const PAGE = 100; // messages asked for per REST page
const LIST_PAGE = 50; // conversations per list page
// Idle time before auto-away; the sb.idle_ms localStorage key shortens it
// (tests), and the check runs often enough to honour a short one.
const IDLE_MS = Number(localStorage.getItem('sb.idle_ms')) || 5 * 60 * 1000;
const IDLE_CHECK_MS = Math.min(15000, Math.max(250, IDLE_MS / 5));

export function viewQuery(v: View): Query {
  switch (v) {
    case 'unassigned':
      return { status: 'open', assignee: 'none' };
    case 'mine':
      return { status: 'open', assignee: 'me' };
    case 'my_teams':
      return { status: 'open', team: 'mine' };
    case 'closed':
      return { status: 'closed' };
    default:
      return { status: 'open' };
  }
}

/**
 * Whether a conversation belongs in a list with this query, mirroring the
 * server's filter: true, false, or null when only the server can tell (a
 * text search).
 */
export function matches(c: Conversation, q: Query, me: Agent): boolean | null {
  if (q.status && c.status !== q.status) return false;
  if (q.assignee) {
    if (q.assignee === 'me' && c.assignee_id !== me.id) return false;
    if (q.assignee === 'none' && c.assignee_id != null) return false;
    if (q.assignee === 'any' && c.assignee_id == null) return false;
    if (/^\d+$/.test(q.assignee) && c.assignee_id !== Number(q.assignee)) return false;
  }
  if (q.team) {
    if (q.team === 'mine' && (c.team_id == null || !(me.team_ids || []).includes(c.team_id))) return false;
    if (/^\d+$/.test(q.team) && c.team_id !== Number(q.team)) return false;
  }
  if (q.site && c.site_id !== Number(q.site)) return false;
  if (q.priority && c.priority !== q.priority) return false;
  if (q.label && !(c.labels || []).includes(q.label)) return false;
  const created = Date.parse(c.created_at);
  if (q.from && created < Date.parse(q.from)) return false;
  if (q.to && created > Date.parse(q.to)) return false;
  if (q.q) return null;
  return true;
}

/** Merges two copies of a visitor; the one seen more recently wins. */
function mergeVisitor(old: Visitor | undefined, nu: Visitor): Visitor {
  if (!old) return nu;
  const a = Date.parse(old.last_seen_at || '') || 0;
  const b = Date.parse(nu.last_seen_at || '') || 0;
  return a > b ? { ...nu, ...old } : { ...old, ...nu };
}

function activity(c: Conversation): number {
  return Date.parse(c.last_message_at || c.updated_at || c.created_at) || 0;
}

function sortConvs(list: Conversation[]): Conversation[] {
  return list.slice().sort((a, b) => activity(b) - activity(a) || b.id - a.id);
}

/** State that handlers outside the render (socket frames, timers) read synchronously. */
function useLive<T>(initial: T): [T, (v: T) => void, { current: T }] {
  const [value, setValue] = useState(initial);
  const ref = useRef(value);
  const set = (v: T) => {
    ref.current = v;
    setValue(v);
  };
  return [value, set, ref];
}

export type Route = { page: 'inbox'; conv: number | null } | { page: 'settings'; section: string; id: string };

export function parseHash(h = location.hash): Route {
  let m = /^#\/c\/(\d+)$/.exec(h);
  if (m) return { page: 'inbox', conv: Number(m[1]) };
  m = /^#\/settings(?:\/([a-z-]+))?(?:\/([\w-]+))?$/.exec(h);
  if (m) return { page: 'settings', section: m[1] || '', id: m[2] || '' };
  return { page: 'inbox', conv: null };
}

export interface Detail {
  conversation: Conversation;
  visitor: Visitor | null;
  markers: ReadMarker[];
}

export interface Typing {
  name: string;
  preview: string;
}

export interface Refs {
  agents: Record<number, Agent>;
  teams: Team[];
  labels: Label[];
  canned: Canned[];
  sites: Record<number, Site>;
}

function readScope(): Scope {
  try {
    const s = JSON.parse(localStorage.getItem('sb.scope') || 'null') as Scope | null;
    if (s && (s.kind === 'view' || s.kind === 'filter')) return s;
  } catch {
    /* ignore */
  }
  return { kind: 'view', view: 'all' };
}

export function Console({ me: initialMe, onLogout }: { me: Agent; onLogout: () => void }) {
  const isAdmin = initialMe.role === 'admin';
  const [me, setMe, meRef] = useLive(initialMe);
  const [route, setRoute, routeRef] = useLive<Route>(parseHash());
  const [scope, setScope, scopeRef] = useLive<Scope>(readScope());
  const [adhoc, setAdhoc, adhocRef] = useLive<Query>({});
  const [search, setSearch, searchRef] = useLive('');
  const [filters, setFilters] = useState<SavedFilter[] | null>(null);
  const [counts, setCounts] = useState<Counts | null>(null);
  const [convs, setConvs, convsRef] = useLive<Conversation[]>([]);
  const [cursor, setCursor, cursorRef] = useLive('');
  const [listState, setListState] = useState<'loading' | 'ready' | 'error'>('loading');
  const [loadingMore, setLoadingMore, loadingMoreRef] = useLive(false);
  const [listCursor, setListCursor, listCursorRef] = useLive(0);
  const [selected, setSelected, selectedRef] = useLive<number | null>(null);
  const [detail, setDetail, detailRef] = useLive<Detail | null>(null);
  const [detailError, setDetailError] = useState('');
  const [extra, setExtra] = useState<VisitorExtra | null>(null);
  const [messages, setMessages, messagesRef] = useLive<Message[]>([]);
  const [pending, setPending, pendingRef] = useLive<Pending[]>([]);
  const [typing, setTyping] = useState<Typing | null>(null);
  const [reconnecting, setReconnecting] = useState(false);
  const [refs, setRefs, refsRef] = useLive<Refs>({ agents: {}, teams: [], labels: [], canned: [], sites: {} });
  const [visitors, setVisitors, visitorsRef] = useLive<Record<number, Visitor>>({});
  const [online, setOnline, onlineRef] = useLive<Record<number, boolean>>({});
  const [unread, setUnread, unreadRef] = useLive<Record<number, boolean>>({});
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState('');
  const [showKeys, setShowKeys] = useState(false);
  const [showDetails, setShowDetails] = useState(() => window.innerWidth >= 1200);
  const [navOpen, setNavOpen] = useState(false);

  const loadGen = useRef(0);
  const listGen = useRef(0);
  const countsTimer = useRef(0);
  const typingTimer = useRef(0);
  const readSent = useRef<Record<number, number>>({});
  const lastMsgs = useRef<Record<number, Message>>({});
  const known = useRef<Map<number, Conversation>>(new Map()); // every conversation this page has seen
  const fetching = useRef<Set<number>>(new Set());
  const mineActs = useRef<Map<number, number>>(new Map()); // conversation id -> time of my own last action
  const sockRef = useRef<AgentSocket | null>(null);
  const tabsRef = useRef<Tabs | null>(null);
  const lastActive = useRef(Date.now());
  const autoAway = useRef(false);

  const query = (): Query => {
    const s = scopeRef.current;
    let base: Query = {};
    if (s.kind === 'view') base = viewQuery(s.view);
    else {
      const f = (filters || []).find((x) => x.id === s.id);
      base = f ? { ...f.query } : viewQuery('all');
    }
    const q: Query = { ...base };
    const a = adhocRef.current;
    for (const k of Object.keys(a) as (keyof Query)[]) if (a[k]) q[k] = a[k];
    if (searchRef.current.trim()) q.q = searchRef.current.trim();
    return q;
  };
  const queryRef = useRef(query);
  queryRef.current = query;

  const lastSeq = () => {
    const ms = messagesRef.current;
    return ms.length ? ms[ms.length - 1].seq : 0;
  };

  // ---- reference data ----

  async function loadRefs() {
    const get = (p: string) => api<unknown>('GET', p).catch(() => null);
    const [ag, tm, lb, cn, st] = await Promise.all([get('/agents'), get('/teams'), get('/labels'), get('/canned'), get('/sites')]);
    const agents: Record<number, Agent> = {};
    for (const a of items<Agent>(ag, 'agents')) agents[a.id] = a;
    const sites: Record<number, Site> = {};
    for (const s of items<Site>(st, 'sites')) sites[s.id] = s;
    setRefs({
      agents,
      teams: items<Team>(tm, 'teams'),
      labels: items<Label>(lb, 'labels'),
      canned: items<Canned>(cn, 'canned'),
      sites,
    });
    const me2 = agents[meRef.current.id];
    if (me2 && me2.team_ids) setMe({ ...meRef.current, team_ids: me2.team_ids });
  }

  async function loadFilters() {
    try {
      setFilters(items<SavedFilter>(await api<unknown>('GET', '/filters'), 'filters'));
    } catch {
      setFilters(null);
    }
  }

  // Counts follow changes at most every 600 ms: a burst of frames makes one
  // request, and a steady stream still refreshes them (the wait does not
  // restart with every frame).
  function refreshCounts(now = false) {
    const go = () => {
      countsTimer.current = 0;
      return api<Counts>('GET', '/conversations/counts').then(
        (c) => setCounts(c && typeof c === 'object' && 'all' in c ? c : null),
        () => setCounts(null),
      );
    };
    if (now) {
      clearTimeout(countsTimer.current);
      void go();
    } else if (!countsTimer.current) countsTimer.current = window.setTimeout(go, 600);
  }

  // ---- messages of the open conversation ----

  function remember(m: Message) {
    const old = lastMsgs.current[m.conversation_id];
    if (!old || m.seq > old.seq) lastMsgs.current[m.conversation_id] = m;
  }

  function withPreview(c: Conversation): Conversation {
    const m = lastMsgs.current[c.id];
    if (!m || (c.last_message && c.last_message.seq >= m.seq)) return c;
    if (m.seq < (c.last_seq || 0) && (previewAt.current[c.id] || 0) < (c.last_seq || 0)) return c;
    return { ...c, last_message: m };
  }

  function addMessages(convId: number, ms: Message[]) {
    for (const m of ms) remember(m);
    if (convId !== selectedRef.current || !ms.length) return;
    const bySeq = new Map<number, Message>();
    for (const m of messagesRef.current) bySeq.set(m.seq, m);
    let changed = false;
    for (const m of ms) {
      if (m.conversation_id === convId && !bySeq.has(m.seq)) {
        bySeq.set(m.seq, m);
        changed = true;
      }
    }
    const ids = new Set(ms.map((m) => m.client_id).filter(Boolean));
    if (ids.size && pendingRef.current.some((p) => ids.has(p.client_id))) {
      setPending(pendingRef.current.filter((p) => !ids.has(p.client_id)));
    }
    if (changed) setMessages(Array.from(bySeq.values()).sort((a, b) => a.seq - b.seq));
  }

  async function fetchAfter(convId: number, after: number, gen: number) {
    let seq = after;
    for (let page = 0; page < 200; page++) {
      const r = await api<unknown>('GET', `/conversations/${convId}/messages?after_seq=${seq}&limit=${PAGE}`);
      if (gen !== loadGen.current) return;
      const ms = items<Message>(r, 'messages');
      addMessages(convId, ms);
      const max = ms.reduce((n, m) => Math.max(n, m.seq), seq);
      const last = (r as { last_seq?: number } | null)?.last_seq;
      if (!ms.length || max <= seq || (typeof last === 'number' ? max >= last : ms.length < PAGE / 2)) break;
      seq = max;
    }
  }

  function resume(convId: number) {
    const s = sockRef.current;
    if (s && convId === selectedRef.current && lastSeq() > 0) {
      s.send({ type: 'resume', id: s.nextId(), conversations: [{ conversation_id: convId, last_seq: lastSeq() }] });
    }
  }

  function markRead() {
    const id = selectedRef.current;
    const seq = lastSeq();
    if (id == null || !seq || document.hidden || routeRef.current.page !== 'inbox' || (readSent.current[id] || 0) >= seq) return;
    if (sockRef.current && sockRef.current.send({ type: 'read', conversation_id: id, seq })) readSent.current[id] = seq;
  }

  function clearUnread(id: number) {
    if (unreadRef.current[id]) {
      const u = { ...unreadRef.current };
      delete u[id];
      setUnread(u);
    }
  }

  async function loadVisitorExtra(visitorId: number, gen: number) {
    try {
      const r = await api<{ visitor?: Visitor; conversations?: Conversation[]; pages?: { url: string; title?: string; at?: string }[] }>(
        'GET',
        `/visitors/${visitorId}`,
      );
      if (gen !== loadGen.current) return;
      setExtra({ conversations: items<Conversation>(r && r.conversations, 'conversations'), pages: (r && r.pages) || null });
    } catch {
      if (gen === loadGen.current) setExtra({ conversations: [], pages: null });
    }
  }

  async function openConversation(id: number) {
    const gen = ++loadGen.current;
    selectedRef.current = id;
    setSelected(id);
    setMessages([]);
    setPending(pendingRef.current.filter((p) => p.error === '' || p.conversation_id === id));
    setDetail(null);
    setExtra(null);
    setDetailError('');
    setActionError('');
    setTyping(null);
    clearUnread(id);
    const idx = convsRef.current.findIndex((c) => c.id === id);
    if (idx >= 0) setListCursor(idx);
    if (location.hash !== '#/c/' + id) history.replaceState(null, '', '#/c/' + id);
    try {
      const [d] = await Promise.all([api<unknown>('GET', `/conversations/${id}`), fetchAfter(id, 0, gen)]);
      if (gen !== loadGen.current) return;
      const conversation = unwrap<Conversation>(d, 'conversation');
      if (!conversation) throw new Error('Unexpected response from the server.');
      const visitor: Visitor | null = (d as { visitor?: Visitor } | null)?.visitor || null;
      const markers = items<ReadMarker>((d as { read_markers?: unknown } | null)?.read_markers, 'read_markers');
      known.current.set(conversation.id, conversation);
      setDetail({ conversation, visitor, markers });
      if (visitor) {
        setVisitors({ ...visitorsRef.current, [visitor.id]: mergeVisitor(visitorsRef.current[visitor.id], visitor) });
        void loadVisitorExtra(visitor.id, gen);
      }
      if (convsRef.current.some((c) => c.id === id)) setConvs(convsRef.current.map((c) => (c.id === id ? withPreview(c) : c)));
      resume(id);
      markRead();
    } catch (e) {
      if (gen === loadGen.current) setDetailError(e instanceof ApiError && e.status === 404 ? 'This conversation does not exist or was deleted.' : errorText(e));
    }
  }

  function closeConversation() {
    loadGen.current++;
    selectedRef.current = null;
    setSelected(null);
    setDetail(null);
    history.replaceState(null, '', location.pathname + location.search);
  }

  // ---- the conversation list ----

  async function loadList(more = false) {
    const gen = ++listGen.current;
    const q = queryRef.current();
    if (more) {
      if (!cursorRef.current || loadingMoreRef.current) return;
      setLoadingMore(true);
    } else setListState('loading');
    try {
      const r = await api<unknown>('GET', '/conversations?' + qs({ ...q, limit: LIST_PAGE, cursor: more ? cursorRef.current : '' }));
      if (gen !== listGen.current) return;
      const page = items<Conversation>(r, 'conversations').map((c) => {
        // The list brings each row's newest message: no request per row.
        if (c.last_message) remember(c.last_message);
        return withPreview(c);
      });
      const vs: Record<number, Visitor> = {};
      for (const c of page) {
        if (c.visitor) vs[c.visitor.id] = mergeVisitor(visitorsRef.current[c.visitor.id], c.visitor);
        known.current.set(c.id, c);
      }
      if (Object.keys(vs).length) setVisitors({ ...visitorsRef.current, ...vs });
      if (more) {
        const have = new Set(page.map((p) => p.id));
        setConvs(convsRef.current.filter((c) => !have.has(c.id)).concat(page));
      } else {
        setConvs(sortConvs(page));
        setListCursor(Math.max(0, page.findIndex((c) => c.id === selectedRef.current)));
      }
      setCursor((r as { next_cursor?: string } | null)?.next_cursor || '');
      setListState('ready');
    } catch {
      if (gen === listGen.current && !more) setListState('error');
    } finally {
      if (more) setLoadingMore(false);
    }
  }

  /** Puts a conversation where it belongs in the current list (or takes it out). */
  function place(c: Conversation) {
    const list = convsRef.current;
    const i = list.findIndex((x) => x.id === c.id);
    const merged: Conversation = withPreview(i >= 0 ? { ...list[i], ...c, visitor: c.visitor || list[i].visitor } : c);
    const fit = matches(merged, queryRef.current(), meRef.current);
    if (fit === null) {
      // A text search: the server decides. Keep what is listed up to date.
      if (i >= 0) setConvs(sortConvs(list.map((x, j) => (j === i ? merged : x))));
      return;
    }
    // Past the loaded pages: it belongs only if it sorts before the last loaded row.
    const tail = list[list.length - 1];
    const inRange = !cursorRef.current || !tail || activity(merged) >= activity(tail);
    if (i >= 0) setConvs(fit ? sortConvs(list.map((x, j) => (j === i ? merged : x))) : list.filter((_, j) => j !== i));
    else if (fit && inRange) setConvs(sortConvs([merged, ...list]));
  }

  function applyConversation(c: Conversation) {
    const prev = known.current.get(c.id);
    const full: Conversation = { ...(prev || {}), ...c } as Conversation;
    known.current.set(c.id, full);
    place(full);
    const d = detailRef.current;
    if (d && d.conversation.id === c.id) setDetail({ ...d, conversation: { ...d.conversation, ...c } });
    return prev;
  }

  /** A conversation this page has not seen: fetch it, then place it. */
  async function fetchConversation(id: number): Promise<Conversation | null> {
    if (fetching.current.has(id)) return null;
    fetching.current.add(id);
    try {
      const d = await api<unknown>('GET', `/conversations/${id}`);
      const c = unwrap<Conversation>(d, 'conversation');
      const v = (d as { visitor?: Visitor } | null)?.visitor;
      if (!c) return null;
      if (v) {
        const m = mergeVisitor(visitorsRef.current[v.id], v);
        setVisitors({ ...visitorsRef.current, [v.id]: m });
        c.visitor = m;
      }
      applyConversation(c);
      return c;
    } catch {
      return null;
    } finally {
      fetching.current.delete(id);
    }
  }

  /** List rows in view without a preview: fetch their newest message (once each). */
  const previewAsked = useRef<Set<number>>(new Set());
  const previewAt = useRef<Record<number, number>>({}); // last_seq when a preview was fetched
  function needPreviews(ids: number[]) {
    for (const id of ids) {
      const c = known.current.get(id);
      if (!c || !c.last_seq || c.last_message || lastMsgs.current[id] || previewAsked.current.has(id)) continue;
      previewAsked.current.add(id);
      api<unknown>('GET', `/conversations/${id}/messages?after_seq=${Math.max(0, c.last_seq - 3)}&limit=3`).then(
        (r) => {
          const ms = items<Message>(r, 'messages');
          const pick = ms.filter((m) => m.kind !== 'event').pop() || ms.pop();
          if (!pick) return;
          remember(pick);
          previewAt.current[id] = Math.max(c.last_seq, ...ms.map((m) => m.seq));
          if (convsRef.current.some((x) => x.id === id)) setConvs(convsRef.current.map((x) => (x.id === id ? withPreview(x) : x)));
        },
        () => undefined,
      );
    }
  }

  function bump(m: Message) {
    remember(m);
    const prev = known.current.get(m.conversation_id);
    if (!prev) {
      void fetchConversation(m.conversation_id);
      return;
    }
    const c: Conversation = {
      ...prev,
      last_message_at: m.created_at || prev.last_message_at,
      last_seq: Math.max(prev.last_seq || 0, m.seq),
      last_message: m,
    };
    known.current.set(c.id, c);
    place(c);
  }

  // ---- alerts ----

  function alert(kind: AlertKind, title: string, body: string, convId: number | null) {
    const p = prefsOf(meRef.current.preferences);
    if (!wants(p, kind)) return;
    const tabs = tabsRef.current;
    if (tabs && !tabs.isLeader()) return; // one tab rings, not all of them
    const looking = !document.hidden && document.hasFocus() && convId != null && convId === selectedRef.current;
    if (looking) return;
    if (p.sound) chime(kind);
    if (p.desktop && (document.hidden || !document.hasFocus())) {
      notify(title, body, kind + ':' + (convId || ''), () => {
        if (convId != null) {
          location.hash = '#/c/' + convId;
        }
      });
    }
  }

  function mine(c: Conversation | undefined): boolean {
    return !!c && c.assignee_id === meRef.current.id;
  }

  // ---- websocket frames ----

  function onFrame(f: Frame) {
    switch (f.type) {
      case 'message': {
        const m = f.message;
        if (!m) return;
        bump(m);
        refreshCounts();
        if (m.conversation_id === selectedRef.current) {
          const last = lastSeq();
          if (last > 0 && m.seq > last + 1) void fetchAfter(m.conversation_id, last, loadGen.current).catch(() => undefined);
          addMessages(m.conversation_id, [m]);
          if (m.author_type === 'visitor') setTyping(null);
        }
        if (m.author_type === 'visitor') {
          const c = known.current.get(m.conversation_id);
          const viewing = m.conversation_id === selectedRef.current && !document.hidden && routeRef.current.page === 'inbox';
          if (!viewing && (!c || c.assignee_id == null || mine(c))) setUnread({ ...unreadRef.current, [m.conversation_id]: true });
          if (mine(c)) {
            const v = c && visitorsRef.current[c.visitor_id];
            alert('mine', 'New message from ' + (c ? visitorName(c, v) : 'a visitor'), m.body || 'Attachment', m.conversation_id);
          }
        }
        break;
      }
      case 'conversation.updated': {
        const c = f.conversation;
        if (!c) return;
        const prev = applyConversation(c);
        refreshCounts();
        const fresh = !prev && c.status === 'open' && c.assignee_id == null && Date.now() - Date.parse(c.created_at) < 120000;
        const mineNow = c.assignee_id === meRef.current.id && (!prev || prev.assignee_id !== meRef.current.id);
        const byMe = Date.now() - (mineActs.current.get(c.id) || 0) < 5000;
        if (fresh) {
          if (!c.visitor) void fetchConversation(c.id);
          const v = visitorsRef.current[c.visitor_id];
          alert('queue', 'New conversation in the queue', visitorName(c, v) + ' is waiting', c.id);
        } else if (mineNow && !byMe && prev) {
          alert('mine', 'A conversation was assigned to you', visitorName(c, visitorsRef.current[c.visitor_id]), c.id);
        }
        break;
      }
      case 'gap':
        if (f.conversation_id != null && f.conversation_id === selectedRef.current) {
          const after = Math.min(typeof f.after_seq === 'number' ? f.after_seq : lastSeq(), lastSeq());
          void fetchAfter(f.conversation_id, after, loadGen.current).catch(() => undefined);
        }
        break;
      case 'typing':
        if (f.conversation_id === selectedRef.current && f.author_type === 'visitor') {
          clearTimeout(typingTimer.current);
          if (f.typing) {
            const d = detailRef.current;
            setTyping({ name: d ? visitorName(d.conversation, d.visitor) : 'The visitor', preview: typeof f.preview === 'string' ? f.preview : '' });
            typingTimer.current = window.setTimeout(() => setTyping(null), 8000);
          } else setTyping(null);
        }
        break;
      case 'read': {
        const d = detailRef.current;
        if (d && f.conversation_id === d.conversation.id && f.reader_type && f.reader_id != null && typeof f.seq === 'number') {
          const others = d.markers.filter((x) => !(x.reader_type === f.reader_type && x.reader_id === f.reader_id));
          setDetail({
            ...d,
            markers: [...others, { conversation_id: d.conversation.id, reader_type: f.reader_type, reader_id: f.reader_id, seq: f.seq }],
          });
        }
        break;
      }
      case 'presence':
        if (f.agent_id != null && f.status) {
          const a = refsRef.current.agents[f.agent_id];
          if (a) setRefs({ ...refsRef.current, agents: { ...refsRef.current.agents, [a.id]: { ...a, status: f.status } } });
          if (f.agent_id === meRef.current.id) setMe({ ...meRef.current, status: f.status });
        } else if (f.visitor_id != null && typeof f.online === 'boolean') {
          setOnline({ ...onlineRef.current, [f.visitor_id]: f.online });
        }
        break;
      case 'visitor.updated':
        if (f.visitor) updateVisitor(f.visitor);
        break;
      case 'visitor.page':
        if (f.visitor_id != null && typeof f.url === 'string') {
          const v = visitorsRef.current[f.visitor_id] || detailVisitor(f.visitor_id);
          if (v) updateVisitor({ ...v, last_page: f.url });
          const d = detailRef.current;
          if (d && d.visitor && d.visitor.id === f.visitor_id) {
            setExtra((x) => ({
              conversations: x ? x.conversations : [],
              pages: [{ url: f.url as string, title: f.title || '', at: new Date().toISOString() }, ...((x && x.pages) || [])].slice(0, 50),
            }));
          }
        }
        break;
      case 'mention': {
        const m = f.message;
        const by = typeof f.by === 'object' && f.by ? f.by.name : typeof f.by === 'number' ? (refsRef.current.agents[f.by] || { name: 'An agent' }).name : f.by || 'An agent';
        const convId = f.conversation_id ?? (m ? m.conversation_id : null);
        toast(by + ' mentioned you' + (convId ? ' in #' + convId : ''), 'info');
        alert('mention', by + ' mentioned you', m ? m.body : '', convId ?? null);
        if (convId != null && convId !== selectedRef.current) setUnread({ ...unreadRef.current, [convId]: true });
        break;
      }
    }
  }

  function detailVisitor(id: number): Visitor | null {
    const d = detailRef.current;
    return d && d.visitor && d.visitor.id === id ? d.visitor : null;
  }

  function updateVisitor(v: Visitor) {
    setVisitors({ ...visitorsRef.current, [v.id]: mergeVisitor(visitorsRef.current[v.id], v) });
    const d = detailRef.current;
    if (d && d.visitor && d.visitor.id === v.id) setDetail({ ...d, visitor: { ...d.visitor, ...v } });
    if (convsRef.current.some((c) => c.visitor_id === v.id)) {
      setConvs(convsRef.current.map((c) => (c.visitor_id === v.id ? { ...c, visitor: { ...c.visitor, ...v } } : c)));
    }
  }

  // ---- presence: manual status, auto-away, offline when the last tab closes ----

  function sendPresence(status: string) {
    const s = sockRef.current;
    if (!(s && s.send({ type: 'presence', status }))) void api('PUT', '/me/status', { status }).catch(() => undefined);
    setMe({ ...meRef.current, status });
  }

  async function chooseStatus(status: string) {
    autoAway.current = false;
    localStorage.setItem('sb.status', status);
    try {
      await api('PUT', '/me/status', { status });
      setMe({ ...meRef.current, status });
      if (tabsRef.current) tabsRef.current.post({ t: 'status', from: tabsRef.current.id, status, manual: true });
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  function activityNow() {
    const now = Date.now();
    const quiet = now - lastActive.current;
    lastActive.current = now;
    if (quiet > 10000 && tabsRef.current) tabsRef.current.post({ t: 'active', from: tabsRef.current.id, at: now });
    if (autoAway.current && meRef.current.status === 'away') {
      autoAway.current = false;
      sendPresence('online');
    }
  }

  function idleCheck() {
    if (meRef.current.status !== 'online' || autoAway.current) return;
    if (Date.now() - lastActive.current < IDLE_MS) return;
    if (tabsRef.current && !tabsRef.current.isLeader()) return;
    autoAway.current = true;
    sendPresence('away');
  }

  function onTabMessage(m: TabMessage) {
    if (m.t === 'active') {
      lastActive.current = Math.max(lastActive.current, m.at);
      if (autoAway.current) {
        autoAway.current = false;
        if (meRef.current.status === 'away') setMe({ ...meRef.current, status: 'online' });
      }
    } else if (m.t === 'status') {
      autoAway.current = !m.manual && m.status === 'away';
      setMe({ ...meRef.current, status: m.status });
    }
  }

  // Handlers are recreated on each render; listeners call the latest ones.
  const handlers = useRef({ onFrame, resume, loadList, markRead, activityNow, idleCheck, onTabMessage, sendPresence });
  handlers.current = { onFrame, resume, loadList, markRead, activityNow, idleCheck, onTabMessage, sendPresence };

  useEffect(() => {
    const tabs = new Tabs((m) => handlers.current.onTabMessage(m));
    tabsRef.current = tabs;
    tabs.start();
    let firstHello = true;
    const sock = new AgentSocket({
      frame: (f) => handlers.current.onFrame(f),
      hello: (first) => {
        const id = selectedRef.current;
        if (id != null) handlers.current.resume(id);
        if (!first) {
          void handlers.current.loadList();
          refreshCounts(true);
        }
        handlers.current.markRead();
        if (firstHello) {
          firstHello = false;
          // Coming back after the last tab closed (status offline), unless
          // the agent chose offline themselves.
          const choice = localStorage.getItem('sb.status') || 'online';
          if (meRef.current.status === 'offline' && choice !== 'offline') handlers.current.sendPresence(choice);
        }
      },
      reconnecting: setReconnecting,
      authLost: onLogout,
    });
    sockRef.current = sock;
    sock.start();
    void loadRefs();
    void loadFilters();
    refreshCounts(true);
    const r = routeRef.current;
    if (r.page === 'inbox' && r.conv != null) void openConversation(r.conv);

    const onHash = () => {
      const nr = parseHash();
      setRoute(nr);
      setNavOpen(false);
      if (nr.page === 'inbox' && nr.conv != null && nr.conv !== selectedRef.current) void openConversation(nr.conv);
      if (nr.page === 'inbox') handlers.current.markRead();
    };
    const onVisible = () => handlers.current.markRead();
    const onActivity = () => handlers.current.activityNow();
    const onGesture = () => {
      unlockAudio();
      handlers.current.activityNow();
    };
    const onHide = (e: PageTransitionEvent) => {
      if (e.persisted) return;
      // The last console tab closing takes the agent offline.
      if (tabs.others() === 0 && meRef.current.status !== 'offline') {
        sock.send({ type: 'presence', status: 'offline' });
        try {
          void fetch('/api/v1/me/status', {
            method: 'PUT',
            keepalive: true,
            credentials: 'same-origin',
            headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() },
            body: JSON.stringify({ status: 'offline' }),
          }).catch(() => undefined);
        } catch {
          /* unloading */
        }
      }
      tabs.stop();
    };
    const idle = window.setInterval(() => handlers.current.idleCheck(), IDLE_CHECK_MS);
    window.addEventListener('hashchange', onHash);
    document.addEventListener('visibilitychange', onVisible);
    window.addEventListener('pagehide', onHide);
    window.addEventListener('pointerdown', onGesture, true);
    window.addEventListener('keydown', onGesture, true);
    window.addEventListener('mousemove', onActivity, { passive: true });
    window.addEventListener('focus', onActivity);
    return () => {
      sock.stop();
      tabs.stop();
      sockRef.current = null;
      clearInterval(idle);
      clearTimeout(countsTimer.current);
      window.removeEventListener('hashchange', onHash);
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('pagehide', onHide);
      window.removeEventListener('pointerdown', onGesture, true);
      window.removeEventListener('keydown', onGesture, true);
      window.removeEventListener('mousemove', onActivity);
      window.removeEventListener('focus', onActivity);
    };
  }, []);

  // Reload the list when what it shows changes (search is debounced).
  const listKey = JSON.stringify([scope, adhoc, filters && scope.kind === 'filter' ? filters.find((f) => f.id === scope.id) : null]);
  useEffect(() => {
    void loadList();
  }, [listKey]);
  useEffect(() => {
    const t = window.setTimeout(() => void loadList(), 250);
    return () => clearTimeout(t);
  }, [search]);

  useEffect(() => {
    markRead();
  }, [messages]);

  useEffect(() => {
    const n = Object.keys(unread).length;
    document.title = (n ? '(' + n + ') ' : '') + 'Switchboard';
  }, [unread]);

  // ---- keyboard shortcuts ----

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
      const t = e.target as HTMLElement | null;
      const tag = t ? t.tagName : '';
      if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (t && t.isContentEditable)) return;
      if (document.querySelector('dialog[open]')) return;
      const inbox = routeRef.current.page === 'inbox';
      const list = convsRef.current;
      const k = e.key;
      const move = (d: number) => {
        if (!list.length) return;
        const cur = listCursorRef.current;
        const next = Math.max(0, Math.min(list.length - 1, cur + d));
        setListCursor(next);
        if (next >= list.length - 5 && cursorRef.current) void handlers.current.loadList(true);
      };
      if (k === '?') {
        e.preventDefault();
        setShowKeys(true);
      } else if (k === '/' && inbox) {
        e.preventDefault();
        const s = document.getElementById('search');
        if (s) s.focus();
      } else if (!inbox) {
        return;
      } else if (k === 'j' || k === 'ArrowDown') {
        e.preventDefault();
        move(1);
      } else if (k === 'k' || k === 'ArrowUp') {
        e.preventDefault();
        move(-1);
      } else if (k === 'Enter') {
        if (tag === 'BUTTON' || tag === 'A') return; // the focused control handles it
        const c = list[listCursorRef.current];
        if (c) {
          e.preventDefault();
          location.hash = '#/c/' + c.id;
        }
      } else if (k === 'r' && selectedRef.current != null) {
        const c = document.getElementById('composer');
        if (c) {
          e.preventDefault();
          c.focus();
        }
      } else if (k === 'a' && selectedRef.current != null) {
        e.preventDefault();
        void act('assign-me');
      } else if (k === 'c' && selectedRef.current != null) {
        e.preventDefault();
        const d = detailRef.current;
        if (d && d.conversation.status !== 'closed') void act('close');
      } else if (k === 'Escape' && selectedRef.current != null && window.innerWidth <= 760) {
        closeConversation();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  // ---- actions ----

  async function post(p: Pending) {
    setPending(pendingRef.current.map((x) => (x.client_id === p.client_id ? { ...x, error: '' } : x)));
    try {
      const path = `/conversations/${p.conversation_id}/${p.private ? 'notes' : 'messages'}`;
      const body: Record<string, unknown> = { body: p.body, client_id: p.client_id, private: p.private };
      if (p.attachments.length) body.attachment_ids = p.attachments.map((a) => a.id);
      if (p.private && p.mentions.length) body.mentions = p.mentions;
      const r = await api<unknown>('POST', path, body);
      const m = unwrap<Message>(r, 'message');
      setPending(pendingRef.current.filter((x) => x.client_id !== p.client_id));
      mineActs.current.set(p.conversation_id, Date.now());
      if (m) {
        addMessages(p.conversation_id, [m]);
        bump(m);
      } else if (p.conversation_id === selectedRef.current) {
        await fetchAfter(p.conversation_id, lastSeq(), loadGen.current);
      }
    } catch (e) {
      setPending(pendingRef.current.map((x) => (x.client_id === p.client_id ? { ...x, error: errorText(e) } : x)));
    }
  }

  function send(body: string, isNote: boolean, attachments: AttachmentRef[], mentions: number[]) {
    const id = selectedRef.current;
    if (id == null) return;
    const p: Pending = { client_id: uuid(), conversation_id: id, body, private: isNote, error: '', attachments, mentions };
    setPending([...pendingRef.current, p]);
    void post(p);
  }

  function sendTyping(id: number, on: boolean) {
    if (sockRef.current) sockRef.current.send({ type: 'typing', conversation_id: id, typing: on });
  }

  type Action = 'assign-me' | 'claim' | 'close' | 'reopen' | 'assign' | 'snooze' | 'labels' | 'priority';

  async function act(action: Action, arg?: Record<string, unknown>): Promise<boolean> {
    const id = selectedRef.current;
    if (id == null) return false;
    setBusy(true);
    setActionError('');
    mineActs.current.set(id, Date.now());
    try {
      let r: unknown;
      const base = `/conversations/${id}`;
      switch (action) {
        case 'assign-me': {
          const d = detailRef.current;
          const unassigned = !d || d.conversation.assignee_id == null;
          if (unassigned) {
            try {
              r = await api<unknown>('POST', base + '/claim', {});
              break;
            } catch (e) {
              // 409: our copy was stale and someone holds it now; "assign to me" takes it over.
              if (!(e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 400 || e.status === 409))) throw e;
            }
          }
          r = await api<unknown>('POST', base + '/assign', { assignee_id: meRef.current.id });
          break;
        }
        case 'claim':
          r = await api<unknown>('POST', base + '/claim', {});
          break;
        case 'assign':
          r = await api<unknown>('POST', base + '/assign', arg || {});
          break;
        case 'snooze':
          r = await api<unknown>('POST', base + '/snooze', arg || {});
          break;
        case 'labels':
          r = await api<unknown>('PUT', base + '/labels', arg || {});
          break;
        case 'priority':
          r = await api<unknown>('PUT', base + '/priority', arg || {});
          break;
        default:
          r = await api<unknown>('POST', base + '/' + action, {});
      }
      const c = unwrap<Conversation>(r, 'conversation');
      if (c) applyConversation(c);
      else {
        const d = await api<unknown>('GET', base);
        const c2 = unwrap<Conversation>(d, 'conversation');
        if (c2) applyConversation(c2);
      }
      refreshCounts();
      if (id === selectedRef.current) await fetchAfter(id, lastSeq(), loadGen.current);
      return true;
    } catch (e) {
      const msg =
        e instanceof ApiError && e.status === 409 && action === 'claim' ? 'Someone else took this conversation a moment ago.' : errorText(e);
      setActionError(msg);
      toast(msg, 'error');
      return false;
    } finally {
      setBusy(false);
    }
  }

  async function savePrefs(patch: Partial<Agent>) {
    const r = await api<unknown>('PATCH', '/me', patch);
    const a = unwrap<Agent>(r, 'agent');
    setMe({ ...meRef.current, ...patch, ...(a || {}) } as Agent);
  }

  async function saveFilter(name: string) {
    const q = queryRef.current();
    try {
      const r = await api<unknown>('POST', '/filters', { name, query: q });
      const f = unwrap<SavedFilter>(r, 'filter');
      await loadFilters();
      refreshCounts(true);
      setAdhoc({});
      setSearch('');
      if (f) pickScope({ kind: 'filter', id: f.id });
      toast('Filter saved', 'ok');
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  async function deleteFilter(id: number) {
    try {
      await api('DELETE', '/filters/' + id);
      if (scopeRef.current.kind === 'filter' && scopeRef.current.id === id) pickScope({ kind: 'view', view: 'all' });
      await loadFilters();
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  function pickScope(s: Scope) {
    setScope(s);
    localStorage.setItem('sb.scope', JSON.stringify(s));
    setNavOpen(false);
    if (routeRef.current.page !== 'inbox') location.hash = selectedRef.current != null ? '#/c/' + selectedRef.current : '#/';
  }

  async function logout() {
    try {
      if (tabsRef.current && tabsRef.current.others() === 0) await api('PUT', '/me/status', { status: 'offline' }).catch(() => undefined);
      await api('POST', '/auth/logout', {});
    } catch {
      /* the session may already be gone */
    }
    history.replaceState(null, '', location.pathname + location.search);
    onLogout();
  }

  const open = route.page === 'inbox' && selected != null;
  const conv = detail ? detail.conversation : null;
  const scopeTitle =
    scope.kind === 'view'
      ? (VIEWS.find((v) => v.id === scope.view) || VIEWS[3]).label
      : ((filters || []).find((f) => f.id === scope.id) || { name: 'Filter' }).name;

  return (
    <div
      class={
        'shell' +
        (route.page === 'settings' ? ' settings-mode' : '') +
        (open ? ' has-selection' : '') +
        (showDetails && open ? '' : ' no-details') +
        (navOpen ? ' nav-open' : '')
      }
    >
      <NavSidebar
        me={me}
        isAdmin={isAdmin}
        route={route}
        scope={scope}
        counts={counts}
        filters={filters}
        onScope={pickScope}
        onDeleteFilter={(id) => void deleteFilter(id)}
        onStatus={(s) => void chooseStatus(s)}
        onLogout={() => void logout()}
        onShortcuts={() => setShowKeys(true)}
      />
      <button type="button" class="nav-scrim" aria-label="Close the menu" tabIndex={-1} onClick={() => setNavOpen(false)} />
      {reconnecting && (
        <div class="banner" role="status">
          Connection lost. Reconnecting&hellip;
        </div>
      )}

      {route.page === 'settings' ? (
        <Settings
          me={me}
          isAdmin={isAdmin}
          section={route.section}
          id={route.id}
          refs={refs}
          onRefsChanged={() => void loadRefs()}
          onSavePrefs={savePrefs}
          onMenu={() => setNavOpen(true)}
        />
      ) : (
        <>
          <Inbox
            title={scopeTitle}
            convs={convs}
            state={listState}
            loadingMore={loadingMore}
            hasMore={!!cursor}
            selected={selected}
            cursor={listCursor}
            unread={unread}
            visitors={visitors}
            refs={refs}
            me={me}
            search={search}
            adhoc={adhoc}
            canSave={filters !== null}
            onSearch={setSearch}
            onAdhoc={setAdhoc}
            onSaveFilter={(n) => void saveFilter(n)}
            onDeleteFilter={scope.kind === 'filter' ? () => void deleteFilter(scope.id) : undefined}
            onSelect={(id) => {
              location.hash = '#/c/' + id;
              if (selectedRef.current === id) return;
              void openConversation(id);
            }}
            onMore={() => void loadList(true)}
            onVisible={needPreviews}
            onRetry={() => void loadList()}
            onMenu={() => setNavOpen(true)}
          />
          <main class="conversation" aria-label="Conversation">
            {!open && (
              <div class="empty-pane">
                <p class="empty-title">No conversation open</p>
                <p class="muted">
                  Pick one from the list, or press <Kbd>j</Kbd> <Kbd>k</Kbd> to move and <Kbd>Enter</Kbd> to open. <Kbd>?</Kbd> lists
                  every shortcut.
                </p>
              </div>
            )}
            {open && (
              <ConversationPane
                key={selected}
                convId={selected as number}
                conv={conv}
                visitor={detail ? detail.visitor : null}
                markers={detail ? detail.markers : []}
                online={detail && detail.visitor ? online[detail.visitor.id] : undefined}
                refs={refs}
                me={me}
                messages={messages}
                pending={pending.filter((p) => p.conversation_id === selected)}
                typing={typing}
                busy={busy}
                error={detailError || actionError}
                detailsShown={showDetails}
                onToggleDetails={() => setShowDetails(!showDetails)}
                onSend={send}
                onRetry={(p) => void post(p)}
                onDiscard={(p) => setPending(pendingRef.current.filter((x) => x.client_id !== p.client_id))}
                onTyping={sendTyping}
                onAct={act}
                onBack={closeConversation}
              />
            )}
          </main>
          <aside class="details" aria-label="Visitor details" tabIndex={0}>
            {open && detail && (
              <VisitorPanel
                detail={detail}
                extra={extra}
                refs={refs}
                me={me}
                online={detail.visitor ? online[detail.visitor.id] : undefined}
                onClose={() => setShowDetails(false)}
              />
            )}
          </aside>
        </>
      )}
      {showKeys && <ShortcutsDialog onClose={() => setShowKeys(false)} />}
      <Toasts />
    </div>
  );
}

const KEYS: [string[], string][] = [
  [['j', '\u2193'], 'Next conversation in the list'],
  [['k', '\u2191'], 'Previous conversation in the list'],
  [['Enter'], 'Open the highlighted conversation'],
  [['r'], 'Reply: focus the composer'],
  [['a'], 'Assign the open conversation to me'],
  [['c'], 'Close the open conversation'],
  [['/'], 'Search conversations'],
  [['?'], 'Show this list'],
  [['Enter'], 'In the composer: send'],
  [['Shift', 'Enter'], 'In the composer: new line'],
  [['Esc'], 'Leave a field or close a dialog'],
];

function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title="Keyboard shortcuts" onClose={onClose} id="shortcuts">
      <p class="muted">Shortcuts work whenever you are not typing in a field.</p>
      <table class="keys">
        <tbody>
          {KEYS.map(([ks, what], i) => (
            <tr key={i}>
              <td>
                {ks.map((k, j) => (
                  <span key={j}>
                    {j > 0 && (k === 'Enter' ? ' + ' : ' / ')}
                    <Kbd>{k}</Kbd>
                  </span>
                ))}
              </td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  );
}
