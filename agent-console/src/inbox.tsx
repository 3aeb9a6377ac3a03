// The navigation sidebar (views with live counts, saved filters, the agent's
// status) and the conversation list (virtualised, paged by cursor).

import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Refs, Route } from './console';
import { agentName, shortTime, visitorName } from './format';
import type { Agent, Conversation, Counts, Query, SavedFilter, View, Visitor } from './types';
import { Avatar, Icon, usePopover } from './ui';

export type Scope = { kind: 'view'; view: View } | { kind: 'filter'; id: number };

export const VIEWS: { id: View; label: string; icon: string; count: Exclude<keyof Counts, 'filters'> }[] = [
  { id: 'unassigned', label: 'Unassigned', icon: 'queue', count: 'unassigned' },
  { id: 'mine', label: 'Mine', icon: 'user', count: 'mine' },
  { id: 'my_teams', label: 'My teams', icon: 'users', count: 'my_teams' },
  { id: 'all', label: 'All open', icon: 'all', count: 'all' },
  { id: 'closed', label: 'Closed', icon: 'archive', count: 'closed' },
];

const STATUS_LABEL: Record<string, string> = { online: 'Online', away: 'Away', offline: 'Offline' };

function fmtCount(n: number): string {
  return n > 9999 ? Math.round(n / 1000) + 'k' : n > 999 ? (n / 1000).toFixed(1).replace(/\.0$/, '') + 'k' : String(n);
}

export function NavSidebar(p: {
  me: Agent;
  isAdmin: boolean;
  route: Route;
  scope: Scope;
  counts: Counts | null;
  filters: SavedFilter[] | null;
  onScope: (s: Scope) => void;
  onDeleteFilter: (id: number) => void;
  onStatus: (s: string) => void;
  onLogout: () => void;
  onShortcuts: () => void;
}) {
  const inbox = p.route.page === 'inbox';
  return (
    <nav class="nav" aria-label="Main">
      <div class="nav-brand">
        <span class="logo" aria-hidden="true">
          <Icon name="message" size={16} />
        </span>
        <span class="brand">Switchboard</span>
      </div>
      <div class="nav-scroll">
        <p class="nav-heading" id="nav-views">
          Inbox
        </p>
        <ul class="nav-list" aria-labelledby="nav-views">
          {VIEWS.map((v) => {
            const active = inbox && p.scope.kind === 'view' && p.scope.view === v.id;
            return (
              <li key={v.id}>
                <button
                  type="button"
                  id={'view-' + v.id}
                  class={'nav-item' + (active ? ' active' : '')}
                  aria-current={active ? 'page' : undefined}
                  onClick={() => p.onScope({ kind: 'view', view: v.id })}
                >
                  <Icon name={v.icon} />
                  <span class="nav-label">{v.label}</span>
                  {p.counts && (
                    <span class={'count' + (p.counts[v.count] ? '' : ' zero')} data-testid={'count-' + v.id} aria-label={p.counts[v.count] + ' conversations'}>
                      {fmtCount(p.counts[v.count] || 0)}
                    </span>
                  )}
                </button>
              </li>
            );
          })}
        </ul>
        {p.filters !== null && (
          <>
            <p class="nav-heading" id="nav-filters">
              Saved filters
            </p>
            {p.filters.length === 0 && <p class="nav-hint">Filter the list, then save it here.</p>}
            <ul class="nav-list" aria-labelledby="nav-filters">
              {p.filters.map((f) => {
                const active = inbox && p.scope.kind === 'filter' && p.scope.id === f.id;
                return (
                  <li key={f.id} class="nav-filter">
                    <button
                      type="button"
                      class={'nav-item' + (active ? ' active' : '')}
                      data-testid="saved-filter"
                      title={f.name}
                      aria-current={active ? 'page' : undefined}
                      onClick={() => p.onScope({ kind: 'filter', id: f.id })}
                    >
                      <Icon name="filter" />
                      <span class="nav-label">{f.name}</span>
                      {p.counts?.filters && p.counts.filters[f.id] !== undefined && (
                        <span
                          class={'count' + (p.counts.filters[f.id] ? '' : ' zero')}
                          data-testid={'count-filter-' + f.id}
                          aria-label={p.counts.filters[f.id] + ' conversations'}
                        >
                          {fmtCount(p.counts.filters[f.id])}
                        </span>
                      )}
                    </button>
                    <button type="button" class="icon-btn nav-del" aria-label={'Delete filter ' + f.name} onClick={() => p.onDeleteFilter(f.id)}>
                      <Icon name="x" size={14} />
                    </button>
                  </li>
                );
              })}
            </ul>
          </>
        )}
        <p class="nav-heading" id="nav-more">
          Workspace
        </p>
        <ul class="nav-list" aria-labelledby="nav-more">
          <li>
            <a
              href="#/settings"
              id="nav-settings"
              class={'nav-item' + (p.route.page === 'settings' ? ' active' : '')}
              aria-current={p.route.page === 'settings' ? 'page' : undefined}
            >
              <Icon name="settings" />
              <span class="nav-label">{p.isAdmin ? 'Settings' : 'Preferences'}</span>
            </a>
          </li>
          <li>
            <button type="button" class="nav-item" onClick={p.onShortcuts} id="nav-shortcuts">
              <Icon name="keyboard" />
              <span class="nav-label">Shortcuts</span>
              <kbd class="nav-kbd">?</kbd>
            </button>
          </li>
        </ul>
      </div>
      <div class="nav-me">
        <StatusMenu me={p.me} onStatus={p.onStatus} />
        <button id="logout" type="button" class="icon-btn" onClick={p.onLogout} aria-label="Log out" title="Log out">
          <Icon name="logout" />
        </button>
      </div>
    </nav>
  );
}

function StatusMenu({ me, onStatus }: { me: Agent; onStatus: (s: string) => void }) {
  const [open, setOpen, ref] = usePopover();
  return (
    <div class="popover-wrap status-menu" ref={ref}>
      <button
        type="button"
        id="my-status"
        class="me-button"
        aria-expanded={open}
        aria-haspopup="true"
        aria-label={'Your status: ' + (STATUS_LABEL[me.status] || me.status) + '. Change status'}
        title={(me.name || me.email) + ' \u00b7 ' + (STATUS_LABEL[me.status] || me.status)}
        onClick={() => setOpen(!open)}
      >
        <span class="me-avatar">
          <Avatar name={me.name || me.email} id={me.id} size={32} />
          <span class={'presence ' + me.status} aria-hidden="true" />
        </span>
        <span class="me-text">
          <span class="me">{me.name || me.email}</span>
          <span class="me-status">{STATUS_LABEL[me.status] || me.status}</span>
        </span>
      </button>
      {open && (
        <div class="popover menu status-pop" role="group" aria-label="Set your status">
          <p class="menu-title">Your status</p>
          {['online', 'away', 'offline'].map((s) => (
            <button
              key={s}
              type="button"
              class={'menu-item' + (me.status === s ? ' on' : '')}
              id={'status-' + s}
              aria-pressed={me.status === s}
              onClick={() => {
                onStatus(s);
                setOpen(false);
              }}
            >
              <span class={'presence-dot ' + (s === 'online' ? 'on' : s === 'away' ? 'away' : '')} aria-hidden="true" />
              {STATUS_LABEL[s]}
              {me.status === s && <Icon name="check" size={14} />}
            </button>
          ))}
          <p class="menu-hint">You turn Away after 5 idle minutes, and Offline when you close the last console tab.</p>
        </div>
      )}
    </div>
  );
}

// ---- the list ----

const ROW = 84; // px, fixed: the list is virtualised

interface ListProps {
  title: string;
  convs: Conversation[];
  state: 'loading' | 'ready' | 'error';
  loadingMore: boolean;
  hasMore: boolean;
  selected: number | null;
  cursor: number;
  unread: Record<number, boolean>;
  visitors: Record<number, Visitor>;
  refs: Refs;
  me: Agent;
  search: string;
  adhoc: Query;
  canSave: boolean;
  onSearch: (q: string) => void;
  onAdhoc: (q: Query) => void;
  onSaveFilter: (name: string) => void;
  /** Set while a saved filter is shown: deletes it (the rail of narrow screens has no room for it). */
  onDeleteFilter?: () => void;
  onSelect: (id: number) => void;
  onMore: () => void;
  onVisible: (ids: number[]) => void;
  onRetry: () => void;
  onMenu: () => void;
}

export function Inbox(p: ListProps) {
  const active = Object.keys(p.adhoc).filter((k) => p.adhoc[k as keyof Query]).length;
  return (
    <section class="inbox" aria-label="Conversations">
      <div class="inbox-head">
        <div class="inbox-title">
          <button type="button" class="icon-btn menu-btn" aria-label="Open the menu" onClick={p.onMenu}>
            <Icon name="all" />
          </button>
          <h1>{p.title}</h1>
          {p.onDeleteFilter && (
            <button type="button" class="icon-btn" id="delete-filter" aria-label={'Delete filter ' + p.title} title="Delete this saved filter" onClick={p.onDeleteFilter}>
              <Icon name="trash" size={16} />
            </button>
          )}
          <FilterMenu {...p} activeCount={active} />
        </div>
        <div class="search">
          <Icon name="search" />
          <label for="search" class="sr-only">
            Search conversations
          </label>
          <input
            id="search"
            type="search"
            placeholder="Search messages, names, emails"
            value={p.search}
            autoComplete="off"
            onInput={(e) => p.onSearch(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') {
                if (p.search) p.onSearch('');
                else e.currentTarget.blur();
              }
              if (e.key === 'ArrowDown' || e.key === 'Enter') {
                e.preventDefault();
                const first = document.querySelector<HTMLElement>('[data-testid=conversation-item]');
                if (first) first.focus();
              }
            }}
          />
          <kbd class="search-kbd" aria-hidden="true">
            /
          </kbd>
        </div>
      </div>
      <ConversationList {...p} />
    </section>
  );
}

function FilterMenu(p: ListProps & { activeCount: number }) {
  const [open, setOpen, ref] = usePopover();
  const [name, setName] = useState('');
  const q = p.adhoc;
  const set = (k: keyof Query, v: string) => p.onAdhoc({ ...q, [k]: v || undefined });
  const teams = p.refs.teams;
  const agents = Object.values(p.refs.agents).filter((a) => a.active !== false);
  const sites = Object.values(p.refs.sites);
  const dateValue = (iso?: string) => (iso ? iso.slice(0, 10) : '');
  return (
    <div class="popover-wrap" ref={ref}>
      <button
        type="button"
        id="filter-button"
        class={'btn small' + (p.activeCount ? ' on' : '')}
        aria-expanded={open}
        aria-controls="filter-panel"
        onClick={() => setOpen(!open)}
      >
        <Icon name="filter" size={14} />
        Filter{p.activeCount ? ' \u00b7 ' + p.activeCount : ''}
      </button>
      {open && (
        <div class="popover filter-panel" id="filter-panel" role="group" aria-label="Filter conversations">
          <div class="grid2">
            <div class="field">
              <label for="f-status">Status</label>
              <select id="f-status" value={q.status || ''} onChange={(e) => set('status', e.currentTarget.value)}>
                <option value="">As in the view</option>
                <option value="open">Open</option>
                <option value="pending">Pending</option>
                <option value="snoozed">Snoozed</option>
                <option value="closed">Closed</option>
              </select>
            </div>
            <div class="field">
              <label for="f-assignee">Assignee</label>
              <select id="f-assignee" value={q.assignee || ''} onChange={(e) => set('assignee', e.currentTarget.value)}>
                <option value="">As in the view</option>
                <option value="me">Me</option>
                <option value="none">Nobody</option>
                <option value="any">Anybody</option>
                {agents.map((a) => (
                  <option key={a.id} value={String(a.id)}>
                    {a.name || a.email}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="f-team">Team</label>
              <select id="f-team" value={q.team || ''} onChange={(e) => set('team', e.currentTarget.value)}>
                <option value="">Any team</option>
                <option value="mine">My teams</option>
                {teams.map((t) => (
                  <option key={t.id} value={String(t.id)}>
                    {t.name}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="f-priority">Priority</label>
              <select id="f-priority" value={q.priority || ''} onChange={(e) => set('priority', e.currentTarget.value)}>
                <option value="">Any priority</option>
                <option value="urgent">Urgent</option>
                <option value="high">High</option>
                <option value="normal">Normal</option>
                <option value="low">Low</option>
              </select>
            </div>
            <div class="field">
              <label for="f-label">Label</label>
              <select id="f-label" value={q.label || ''} onChange={(e) => set('label', e.currentTarget.value)}>
                <option value="">Any label</option>
                {p.refs.labels.map((l) => (
                  <option key={l.id} value={l.name}>
                    {l.name}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="f-site">Site</label>
              {sites.length ? (
                <select id="f-site" value={q.site || ''} onChange={(e) => set('site', e.currentTarget.value)}>
                  <option value="">Any site</option>
                  {sites.map((s) => (
                    <option key={s.id} value={String(s.id)}>
                      {s.name}
                    </option>
                  ))}
                </select>
              ) : (
                <input
                  id="f-site"
                  inputMode="numeric"
                  placeholder="Site id"
                  value={q.site || ''}
                  onChange={(e) => set('site', e.currentTarget.value.replace(/\D/g, ''))}
                />
              )}
            </div>
            <div class="field">
              <label for="f-from">Started from</label>
              <input
                id="f-from"
                type="date"
                value={dateValue(q.from)}
                onChange={(e) => set('from', e.currentTarget.value ? new Date(e.currentTarget.value + 'T00:00:00').toISOString() : '')}
              />
            </div>
            <div class="field">
              <label for="f-to">Started until</label>
              <input
                id="f-to"
                type="date"
                value={dateValue(q.to)}
                onChange={(e) => set('to', e.currentTarget.value ? new Date(e.currentTarget.value + 'T23:59:59').toISOString() : '')}
              />
            </div>
          </div>
          <div class="filter-foot">
            <button type="button" class="btn small ghost" onClick={() => p.onAdhoc({})} disabled={!p.activeCount}>
              Clear
            </button>
            {p.canSave && (
              <form
                class="save-filter"
                onSubmit={(e) => {
                  e.preventDefault();
                  if (!name.trim()) return;
                  p.onSaveFilter(name.trim());
                  setName('');
                  setOpen(false);
                }}
              >
                <label for="filter-name" class="sr-only">
                  Name of the saved filter
                </label>
                <input id="filter-name" placeholder="Save as\u2026" value={name} onInput={(e) => setName(e.currentTarget.value)} />
                <button type="submit" class="btn small primary" id="save-filter" disabled={!name.trim()}>
                  Save
                </button>
              </form>
            )}
          </div>
        </div>
      )}
    </div>
  );
}

const PRIORITY_ICON: Record<string, string> = { urgent: 'Urgent', high: 'High' };

function ConversationList(p: ListProps) {
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(600);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    setHeight(el.clientHeight);
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, [p.state === 'ready' && p.convs.length > 0]);

  // Keep the keyboard cursor in view.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const y = p.cursor * ROW;
    if (y < el.scrollTop) el.scrollTop = y;
    else if (y + ROW > el.scrollTop + el.clientHeight) el.scrollTop = y + ROW - el.clientHeight;
    const b = el.querySelector<HTMLElement>(`[data-index="${p.cursor}"]`);
    if (b && el.contains(document.activeElement) && document.activeElement !== b) b.focus({ preventScroll: true });
  }, [p.cursor]);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    setTop(el.scrollTop);
    if (p.hasMore && !p.loadingMore && el.scrollTop + el.clientHeight > el.scrollHeight - ROW * 10) p.onMore();
  };

  // A short first page that does not fill the box: fetch the next one.
  useEffect(() => {
    const el = box.current;
    if (el && p.hasMore && !p.loadingMore && p.convs.length * ROW < el.clientHeight + ROW * 5) p.onMore();
  }, [p.convs.length, p.hasMore]);

  const overscan = 6;
  const first = Math.max(0, Math.floor(top / ROW) - overscan);
  const last = Math.min(p.convs.length, Math.ceil((top + height) / ROW) + overscan);
  const visibleKey = p.convs
    .slice(first, last)
    .map((c) => c.id + ':' + (c.last_message ? 1 : 0))
    .join(',');
  useEffect(() => {
    const t = window.setTimeout(() => p.onVisible(p.convs.slice(first, last).filter((c) => !c.last_message).map((c) => c.id)), 120);
    return () => clearTimeout(t);
  }, [visibleKey]);

  if (p.state === 'error') {
    return (
      <div class="list-note" role="alert">
        Could not load conversations.{' '}
        <button type="button" class="link" onClick={p.onRetry}>
          Try again
        </button>
      </div>
    );
  }
  if (p.state === 'loading' && !p.convs.length) return <p class="list-note">Loading&hellip;</p>;
  if (!p.convs.length)
    return (
      <div class="list-note">
        <p class="empty-title">No conversations here</p>
        <p class="muted">{p.search ? 'Nothing matches \u201c' + p.search + '\u201d.' : 'New ones show up the moment they arrive.'}</p>
      </div>
    );

  const rows = [];
  for (let i = first; i < last; i++) rows.push(<Row key={p.convs[i].id} i={i} c={p.convs[i]} p={p} />);

  return (
    <div class={'list-wrap' + (p.state === 'loading' ? ' stale' : '')} ref={box} onScroll={onScroll}>
      <ul class="conv-list" style={{ height: p.convs.length * ROW + 'px' }} aria-label={p.title} aria-busy={p.state === 'loading'}>
        {rows}
      </ul>
      {p.hasMore && <p class="list-more">{p.loadingMore ? 'Loading more\u2026' : ''}</p>}
    </div>
  );
}

function Row({ i, c, p }: { i: number; c: Conversation; p: ListProps }) {
  const sel = c.id === p.selected;
  const unread = !!p.unread[c.id];
  const v = p.visitors[c.visitor_id] || c.visitor;
  const name = visitorName(c, v);
  const last = c.last_message;
  let preview = c.last_seq ? '\u2026' : 'No messages yet';
  if (last) {
    const text = last.body || (last.attachments && last.attachments.length ? '\ud83d\udcce ' + last.attachments[0].name : '');
    if (last.kind === 'note') preview = 'Note: ' + text;
    else if (last.author_type === 'agent') preview = (last.author_id === p.me.id ? 'You' : last.author_name || 'Agent') + ': ' + text;
    else preview = text;
  }
  return (
    <li style={{ transform: `translateY(${i * ROW}px)` }} aria-setsize={p.convs.length} aria-posinset={i + 1}>
      <button
        type="button"
        class={'conv' + (sel ? ' selected' : '') + (unread ? ' unread' : '') + (i === p.cursor ? ' cursor' : '')}
        data-testid="conversation-item"
        data-id={c.id}
        data-index={i}
        aria-current={sel ? 'true' : undefined}
        onClick={() => p.onSelect(c.id)}
      >
        <Avatar name={name} id={c.visitor_id} size={34} />
        <span class="conv-main">
          <span class="conv-top">
            <span class="conv-name">{name}</span>
            {unread && <span class="unread-dot" role="img" aria-label="Unread" />}
            <time class="conv-time" dateTime={c.last_message_at}>
              {shortTime(c.last_message_at)}
            </time>
          </span>
          <span class="conv-preview">{preview}</span>
          <span class="conv-meta">
            <span class={'badge ' + c.status}>{c.status}</span>
            {PRIORITY_ICON[c.priority] && <span class={'prio ' + c.priority}>{PRIORITY_ICON[c.priority]}</span>}
            <span class="conv-assignee">{agentName(c.assignee_id, p.refs.agents, p.me)}</span>
            {(c.labels || []).slice(0, 2).map((l) => (
              <span key={l} class="chip">
                {l}
              </span>
            ))}
          </span>
        </span>
      </button>
    </li>
  );
}
