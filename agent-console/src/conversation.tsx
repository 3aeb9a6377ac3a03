// The open conversation: header with every action, the transcript with
// delivery and read state, the visitor's typing indicator, and the composer.
// Everything a visitor controls is rendered as text (see rich.tsx).

import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { Composer } from './composer';
import { EmailTranscript, ExportMenu } from './exports';
import type { Refs, Typing } from './console';
import { agentName, bytes, longTime, shortTime, visitorName } from './format';
import { Rich } from './rich';
import type { Agent, AttachmentRef, Conversation, Message, ReadMarker, Visitor } from './types';
import { Avatar, Dialog, Icon, usePopover } from './ui';

export interface Pending {
  client_id: string;
  conversation_id: number;
  body: string;
  private: boolean;
  error: string;
  attachments: AttachmentRef[];
  mentions: number[];
}

type Act = (action: 'assign-me' | 'claim' | 'close' | 'reopen' | 'assign' | 'snooze' | 'labels' | 'priority', arg?: Record<string, unknown>) => Promise<boolean>;

interface PaneProps {
  convId: number;
  conv: Conversation | null;
  visitor: Visitor | null;
  markers: ReadMarker[];
  online: boolean | undefined;
  refs: Refs;
  me: Agent;
  messages: Message[];
  pending: Pending[];
  typing: Typing | null;
  busy: boolean;
  error: string;
  detailsShown: boolean;
  onToggleDetails: () => void;
  onSend: (body: string, note: boolean, attachments: AttachmentRef[], mentions: number[]) => void;
  onRetry: (p: Pending) => void;
  onDiscard: (p: Pending) => void;
  onTyping: (convId: number, on: boolean) => void;
  onAct: Act;
  onBack: () => void;
}

export function ConversationPane(p: PaneProps) {
  const listRef = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const [dialog, setDialog] = useState<'' | 'transfer'>('');
  const c = p.conv;
  const closed = !!c && c.status === 'closed';
  const mine = !!c && c.assignee_id === p.me.id;
  const title = c ? visitorName(c, p.visitor) : 'Conversation #' + p.convId;

  useLayoutEffect(() => {
    const el = listRef.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [p.messages, p.pending, p.typing]);

  const onScroll = () => {
    const el = listRef.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  };

  // The visitor's read marker: messages up to it were seen.
  const seen = p.markers.filter((m) => m.reader_type === 'visitor').reduce((n, m) => Math.max(n, m.seq), 0);
  let lastOut = 0;
  for (const m of p.messages) if (m.author_type === 'agent' && m.kind !== 'note') lastOut = m.seq;
  const team = c && c.team_id != null ? p.refs.teams.find((t) => t.id === c.team_id) : null;

  let day = '';
  const rows = [];
  for (const m of p.messages) {
    const d = new Date(m.created_at).toDateString();
    if (d !== day) {
      day = d;
      rows.push(
        <div class="day" key={'d' + m.seq} role="separator">
          <span>{dayLabel(m.created_at)}</span>
        </div>,
      );
    }
    rows.push(<MessageItem key={m.seq} m={m} me={p.me} seen={seen} lastOut={lastOut} />);
  }

  return (
    <div class="pane">
      <div class="pane-head">
        <button type="button" class="icon-btn back" onClick={p.onBack} aria-label="Back to the list">
          <Icon name="left" />
        </button>
        <Avatar name={title} id={c ? c.visitor_id : p.convId} size={36} />
        <div class="pane-title">
          <h1>
            {title}
            {p.visitor && p.visitor.verified && (
              <span class="verified" title="Identity verified by the site">
                <Icon name="shield" size={14} label="Verified" />
              </span>
            )}
          </h1>
          {c && (
            <p class="pane-sub">
              <span class={'badge ' + c.status}>{c.status}</span>
              <span>#{c.id}</span>
              <span aria-hidden="true">&middot;</span>
              <span>{c.assignee_id == null ? 'Unassigned' : agentName(c.assignee_id, p.refs.agents, p.me)}</span>
              {team && <span class="chip">{team.name}</span>}
              {p.online !== undefined && (
                <span class={'live ' + (p.online ? 'on' : 'off')}>{p.online ? 'Visitor online' : 'Visitor left'}</span>
              )}
              {c.status === 'snoozed' && c.snoozed_until && <span>until {longTime(c.snoozed_until)}</span>}
            </p>
          )}
        </div>
        <div class="actions">
          {c && !mine && (
            <button id="assign-me" type="button" class="btn" disabled={p.busy} onClick={() => void p.onAct('assign-me')} title="Assign to me (a)">
              {c.assignee_id == null ? 'Claim' : 'Take over'}
            </button>
          )}
          {c && mine && (
            <span class="mine-tag" id="assign-me-done">
              <Icon name="check" size={14} /> Yours
            </span>
          )}
          <button
            id="transfer"
            type="button"
            class="icon-btn bordered"
            disabled={!c || p.busy}
            onClick={() => setDialog('transfer')}
            aria-label="Assign or transfer"
            title="Assign or transfer"
          >
            <Icon name="transfer" />
          </button>
          {c && <LabelsMenu conv={c} refs={p.refs} onAct={p.onAct} />}
          {c && <PriorityMenu conv={c} onAct={p.onAct} />}
          {c && !closed && <SnoozeMenu conv={c} onAct={p.onAct} />}
          {c && <ExportMenu conv={c} />}
          {c && <EmailTranscript conv={c} visitor={p.visitor} />}
          {closed ? (
            <button id="reopen-conversation" type="button" class="btn" disabled={p.busy} onClick={() => void p.onAct('reopen')}>
              <Icon name="refresh" size={14} /> Reopen
            </button>
          ) : (
            <button
              id="close-conversation"
              type="button"
              class="btn primary"
              disabled={!c || p.busy}
              onClick={() => void p.onAct('close')}
              title="Close (c)"
            >
              <Icon name="check" size={14} /> Close
            </button>
          )}
          <button
            type="button"
            class={'icon-btn details-toggle' + (p.detailsShown ? ' on' : '')}
            aria-label={p.detailsShown ? 'Hide visitor details' : 'Show visitor details'}
            aria-pressed={p.detailsShown}
            onClick={p.onToggleDetails}
            title="Visitor details"
          >
            <Icon name="sidebar" />
          </button>
        </div>
      </div>
      {p.error && (
        <p class="pane-error" role="alert">
          {p.error}
        </p>
      )}
      <div class="messages" ref={listRef} onScroll={onScroll} role="log" aria-live="polite" aria-label="Messages" tabIndex={0}>
        {!c && !p.error && <p class="muted center">Loading&hellip;</p>}
        {rows}
        {p.pending.map((x) => (
          <div
            key={x.client_id}
            class={'msg out pending' + (x.private ? ' note' : '') + (x.error ? ' failed' : '')}
            data-testid="message-pending"
          >
            <div class="msg-meta">
              <span class="author">{x.private ? 'Private note' : 'You'}</span>
              <span>{x.error ? 'Not sent: ' + x.error : 'Sending\u2026'}</span>
              {x.error && (
                <>
                  <button type="button" class="link" onClick={() => p.onRetry(x)}>
                    Retry
                  </button>
                  <button type="button" class="link" onClick={() => p.onDiscard(x)}>
                    Discard
                  </button>
                </>
              )}
            </div>
            {x.body && (
              <div class="msg-body">
                <Rich text={x.body} />
              </div>
            )}
            {x.attachments.length > 0 && <Attachments list={x.attachments} />}
          </div>
        ))}
        {p.typing && (
          <div class="msg in typing-row" data-testid="typing">
            <div class="msg-meta">
              <span class="author">{p.typing.name}</span>
              <span>is typing</span>
              <span class="dots" aria-hidden="true">
                <i />
                <i />
                <i />
              </span>
            </div>
            {p.typing.preview && (
              <div class="msg-body typing-preview" data-testid="typing-preview" title="Live preview: not sent yet">
                {p.typing.preview}
              </div>
            )}
          </div>
        )}
      </div>
      <Composer
        convId={p.convId}
        visitor={p.visitor}
        refs={p.refs}
        me={p.me}
        closed={closed}
        onSend={p.onSend}
        onTyping={p.onTyping}
        onReopen={() => void p.onAct('reopen')}
      />
      {dialog === 'transfer' && c && (
        <TransferDialog conv={c} refs={p.refs} me={p.me} onClose={() => setDialog('')} onAct={p.onAct} />
      )}
    </div>
  );
}

function dayLabel(iso: string): string {
  const d = new Date(iso);
  if (isNaN(d.getTime())) return '';
  const today = new Date();
  const y = new Date(Date.now() - 86400000);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === y.toDateString()) return 'Yesterday';
  return d.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric', year: d.getFullYear() === today.getFullYear() ? undefined : 'numeric' });
}

function isImage(a: AttachmentRef): boolean {
  return /^image\/(png|jpeg|gif|webp)$/.test(a.content_type || '');
}

function Attachments({ list }: { list: AttachmentRef[] }) {
  return (
    <ul class="attachments">
      {list.map((a) => {
        const href = '/api/v1/attachments/' + Number(a.id);
        return (
          <li key={a.id}>
            {isImage(a) && (
              <a href={href} download={a.name} class="thumb" aria-label={'Download ' + a.name}>
                <img src={href} alt="" loading="lazy" />
              </a>
            )}
            <a href={href} download={a.name} class="file" data-testid="attachment">
              <Icon name="file" size={15} />
              <span class="file-name">{a.name}</span>
              <span class="file-size">{bytes(a.size)}</span>
              <Icon name="download" size={14} />
            </a>
          </li>
        );
      })}
    </ul>
  );
}

function MessageItem({ m, me, seen, lastOut }: { m: Message; me: Agent; seen: number; lastOut: number }) {
  const note = m.kind === 'note';
  const event = m.kind === 'event' || m.author_type === 'system';
  const side = note ? 'note out' : event ? 'event' : m.author_type === 'visitor' ? 'in' : 'out';
  const author =
    m.author_type === 'agent' && m.author_id === me.id
      ? 'You'
      : m.author_name || (m.author_type === 'visitor' ? 'Visitor' : m.author_type === 'bot' ? 'Bot' : 'Agent');
  const out = m.author_type === 'agent' && !note && !event;
  const read = out && seen >= m.seq;
  return (
    <div class={'msg ' + side} data-testid="message" data-seq={m.seq}>
      {!event && (
        <div class="msg-meta">
          <span class="author">{author}</span>
          {note && <span class="tag">Private note</span>}
          <time dateTime={m.created_at} title={longTime(m.created_at)}>
            {shortTime(m.created_at)}
          </time>
        </div>
      )}
      {(m.body || event) && (
        <div class="msg-body">{event ? m.body : <Rich text={m.body} />}</div>
      )}
      {m.attachments && m.attachments.length > 0 && <Attachments list={m.attachments} />}
      {out && (
        <div class={'receipt' + (read ? ' read' : '')} data-testid="receipt" data-state={read ? 'read' : 'sent'}>
          <Icon name={read ? 'checks' : 'check'} size={14} />
          {m.seq === lastOut && <span>{read ? 'Seen' : 'Sent'}</span>}
          {m.seq !== lastOut && <span class="sr-only">{read ? 'Seen' : 'Sent'}</span>}
        </div>
      )}
    </div>
  );
}

// ---- header menus ----

function LabelsMenu({ conv, refs, onAct }: { conv: Conversation; refs: Refs; onAct: Act }) {
  const [open, setOpen, ref] = usePopover();
  const [custom, setCustom] = useState('');
  const have = conv.labels || [];
  const names = Array.from(new Set([...refs.labels.map((l) => l.name), ...have]));
  const color = (n: string) => (refs.labels.find((l) => l.name === n) || { color: '' }).color || '';
  const toggle = (n: string) => void onAct('labels', { labels: have.includes(n) ? have.filter((x) => x !== n) : [...have, n] });
  return (
    <div class="popover-wrap" ref={ref}>
      <button
        type="button"
        id="labels-button"
        class={'icon-btn bordered' + (have.length ? ' on' : '')}
        aria-expanded={open}
        title="Labels"
        onClick={() => setOpen(!open)}
      >
        <Icon name="tag" />
        <span class="sr-only">{'Labels' + (have.length ? ' (' + have.join(', ') + '): ' : '')}</span>
        {have.length > 0 && <span class="mini-count">{have.length}</span>}
      </button>
      {open && (
        <div class="popover menu right" role="group" aria-label="Labels">
          <p class="menu-title">Labels</p>
          {names.length === 0 && <p class="muted small">No labels yet. Type one below.</p>}
          <ul class="check-list">
            {names.map((n) => (
              <li key={n}>
                <label>
                  <input type="checkbox" checked={have.includes(n)} onChange={() => toggle(n)} data-label={n} />
                  <span class="swatch" style={{ background: color(n) || 'var(--muted)' }} aria-hidden="true" />
                  {n}
                </label>
              </li>
            ))}
          </ul>
          <form
            class="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              const n = custom.trim().toLowerCase();
              if (n && !have.includes(n)) void onAct('labels', { labels: [...have, n] });
              setCustom('');
            }}
          >
            <label for="label-new" class="sr-only">
              New label
            </label>
            <input id="label-new" placeholder="Add a label" value={custom} maxLength={40} onInput={(e) => setCustom(e.currentTarget.value)} />
            <button type="submit" class="btn small">
              Add
            </button>
          </form>
        </div>
      )}
    </div>
  );
}

const PRIORITIES = ['urgent', 'high', 'normal', 'low'];

const PRIO_LABEL: Record<string, string> = { urgent: 'Urgent', high: 'High', normal: 'Normal', low: 'Low' };

function PriorityMenu({ conv, onAct }: { conv: Conversation; onAct: Act }) {
  const [open, setOpen, ref] = usePopover();
  const cur = conv.priority || 'normal';
  return (
    <div class="popover-wrap" ref={ref}>
      <button
        type="button"
        id="priority-button"
        class={'icon-btn bordered prio-btn prio-' + cur}
        aria-expanded={open}
        title={'Priority: ' + PRIO_LABEL[cur]}
        onClick={() => setOpen(!open)}
      >
        <Icon name="flag" />
        <span class="sr-only">{'Priority: ' + (PRIO_LABEL[cur] || cur)}</span>
      </button>
      {open && (
        <div class="popover menu right" role="group" aria-label="Priority">
          <p class="menu-title">Priority</p>
          {PRIORITIES.map((x) => (
            <button
              key={x}
              type="button"
              id={'priority-' + x}
              class={'menu-item' + (x === cur ? ' on' : '')}
              aria-pressed={x === cur}
              onClick={() => {
                setOpen(false);
                if (x !== cur) void onAct('priority', { priority: x });
              }}
            >
              <span class={'prio-dot ' + x} aria-hidden="true" />
              {PRIO_LABEL[x]}
              {x === cur && <Icon name="check" size={14} />}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

function localInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function SnoozeMenu({ conv, onAct }: { conv: Conversation; onAct: Act }) {
  const [open, setOpen, ref] = usePopover();
  const [when, setWhen] = useState(() => localInput(new Date(Date.now() + 3 * 3600e3)));
  const at = (h: number, addDays: number) => {
    const d = new Date();
    d.setDate(d.getDate() + addDays);
    d.setHours(h, 0, 0, 0);
    return d;
  };
  const nextMonday = () => {
    const d = at(9, 0);
    d.setDate(d.getDate() + ((8 - d.getDay()) % 7 || 7));
    return d;
  };
  const presets: [string, () => Date][] = [
    ['In 1 hour', () => new Date(Date.now() + 3600e3)],
    ['In 3 hours', () => new Date(Date.now() + 3 * 3600e3)],
    ['Tomorrow, 9:00', () => at(9, 1)],
    ['Next Monday, 9:00', nextMonday],
  ];
  const snooze = async (d: Date) => {
    if (!(d.getTime() > Date.now())) return;
    if (await onAct('snooze', { until: d.toISOString() })) setOpen(false);
  };
  return (
    <div class="popover-wrap" ref={ref}>
      <button
        type="button"
        id="snooze-button"
        class={'icon-btn bordered' + (conv.status === 'snoozed' ? ' on' : '')}
        aria-expanded={open}
        aria-label="Snooze"
        title="Snooze"
        onClick={() => setOpen(!open)}
      >
        <Icon name="clock" />
      </button>
      {open && (
        <div class="popover menu right" role="group" aria-label="Snooze until">
          <p class="menu-title">Snooze until</p>
          {presets.map(([label, f]) => (
            <button key={label} type="button" class="menu-item" onClick={() => void snooze(f())}>
              {label}
              <span class="muted small">{shortTime(f().toISOString())}</span>
            </button>
          ))}
          <form
            class="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              void snooze(new Date(when));
            }}
          >
            <label for="snooze-at" class="sr-only">
              Snooze until a date and time
            </label>
            <input id="snooze-at" type="datetime-local" value={when} min={localInput(new Date())} onInput={(e) => setWhen(e.currentTarget.value)} />
            <button type="submit" class="btn small" id="snooze-custom">
              Snooze
            </button>
          </form>
        </div>
      )}
    </div>
  );
}

function TransferDialog({ conv, refs, me, onClose, onAct }: { conv: Conversation; refs: Refs; me: Agent; onClose: () => void; onAct: Act }) {
  const [agent, setAgent] = useState(conv.assignee_id != null ? String(conv.assignee_id) : '');
  const [team, setTeam] = useState(conv.team_id != null ? String(conv.team_id) : '');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const agents = Object.values(refs.agents)
    .filter((a) => a.active !== false)
    .sort((a, b) => (a.name || a.email).localeCompare(b.name || b.email));
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const body: Record<string, unknown> = { assignee_id: agent ? Number(agent) : 0, team_id: team ? Number(team) : 0 };
    if (note.trim()) body.note = note.trim();
    const ok = await onAct('assign', body);
    setBusy(false);
    if (ok) onClose();
  };
  const statusOf = (a: Agent) => (a.status === 'online' ? 'online' : a.status === 'away' ? 'away' : 'offline');
  return (
    <Dialog
      title="Assign or transfer"
      onClose={onClose}
      id="transfer-dialog"
      footer={
        <>
          <button type="button" class="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form="transfer-form" class="btn primary" id="transfer-submit" disabled={busy}>
            {busy ? 'Saving\u2026' : 'Assign'}
          </button>
        </>
      }
    >
      <form id="transfer-form" onSubmit={submit} class="stack">
        <div class="field">
          <label for="transfer-agent">Agent</label>
          <select id="transfer-agent" value={agent} onChange={(e) => setAgent(e.currentTarget.value)}>
            <option value="">Nobody (back to the queue)</option>
            {agents.map((a) => (
              <option key={a.id} value={String(a.id)}>
                {(a.id === me.id ? 'Me \u2014 ' : '') + (a.name || a.email) + ' (' + statusOf(a) + ')'}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="transfer-team">Team</label>
          <select id="transfer-team" value={team} onChange={(e) => setTeam(e.currentTarget.value)}>
            <option value="">No team</option>
            {refs.teams.map((t) => (
              <option key={t.id} value={String(t.id)}>
                {t.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="transfer-note">Note for the next agent (private)</label>
          <textarea
            id="transfer-note"
            rows={3}
            value={note}
            placeholder="What they need to know"
            onInput={(e) => setNote(e.currentTarget.value)}
          />
        </div>
      </form>
    </Dialog>
  );
}
