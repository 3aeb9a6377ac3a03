// The chat window inside the widget iframe (HOST/widget/frame.html?site=KEY#origin=PAGE_ORIGIN).
//
// It runs on the chat server's origin: the visitor token is kept in this
// origin's localStorage (one key per site), sent as a bearer header on REST
// calls and as the first websocket frame, and never put in a URL.
// Everything a person typed is rendered with DOM nodes and textContent
// (format.ts), never as HTML. Other tabs of the same site are kept in step
// through a BroadcastChannel (storage events where there is none).

import { format } from './format';
import { isRtl, lang, setLang, t, type Key } from './i18n';
import { isMsg, type WidgetMsg } from './messages';
import type {
  AttachmentRef, Availability, Conversation, Frame, Message, PreChatField, ProactiveRule, Session, SiteSettings, Visitor,
} from './types';

const API = '/api/v1/widget';
const PAGE = 100; // messages asked for per REST page
const hashParams = new URLSearchParams(location.hash.slice(1));
const site = new URLSearchParams(location.search).get('site') || hashParams.get('site') || '';
const parentOrigin = originOf(hashParams.get('origin'));
const embedded = window.parent !== window && parentOrigin !== '';
const TOKEN_KEY = 'switchboard.token.' + site;
const STATE_KEY = 'switchboard.state.' + site;
const DAY = 86400000;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const root = document.documentElement;
const app = $('sb-app');
const titleEl = $('sb-title');
const teamEl = $('sb-team');
const statusEl = $('sb-status');
const dotEl = $('sb-dot');
const backBtn = $<HTMLButtonElement>('sb-back');
const closeBtn = $<HTMLButtonElement>('sb-close');
const menuBtn = $<HTMLButtonElement>('sb-menu-btn');
const menu = $('sb-menu');
const soundItem = $('sb-m-sound');
const bannerEl = $('sb-banner');
const listView = $('sb-list');
const convList = $('sb-convs');
const chatView = $('sb-chat');
const scroller = $('sb-scroll');
const list = $<HTMLOListElement>('sb-messages');
const typingEl = $('sb-typing');
const cardSlot = $('sb-card');
const toastEl = $('sb-toast');
const form = $<HTMLFormElement>('sb-form');
const input = $<HTMLTextAreaElement>('sb-input');
const sendBtn = $<HTMLButtonElement>('sb-send');
const fileInput = $<HTMLInputElement>('sb-file');
const stagedEl = $('sb-staged');
const dropEl = $('sb-drop');
const peekEl = $('sb-peek');

// ---- state -----------------------------------------------------------------

interface Conv extends Conversation {
  msgs: Map<number, Message>;
  loaded: boolean; // its messages were fetched over REST
  seen: number; // highest seq received
  ar: number; // agents' read marker
  unread: number; // agent messages the visitor has not seen
  preview?: string;
}

interface Staged {
  file: File;
  chip: HTMLLIElement;
  ref?: AttachmentRef;
  done: Promise<void>;
}

interface Pending {
  cid: string; // client_id, reused on every retry
  body: string;
  conv: number | null; // null: this send starts a new conversation
  li: HTMLLIElement;
  files: Staged[];
  ids: number[] | null; // attachment ids once uploads are done (null: still uploading)
  sent: boolean; // in flight on the current socket
  req: string; // frame id of the last send
  failed: boolean;
  tries: number;
  quiet: boolean; // sent by the offline form or the API: no pending bubble focus
}

let token = load(TOKEN_KEY) || '';
let settings: SiteSettings = {};
let siteName = '';
let avail: Availability | null = null;
let visitor: Visitor | null = null;
let booted = false;
let visitorGen = 0; // bumped when the visitor changes: late answers for the old one are dropped
let isOpen = !embedded;
let view: 'chat' | 'list' = 'chat';
const convs = new Map<number, Conv>();
let cur: number | null = null; // the conversation on screen; null: a new one
let creating: Promise<number> | null = null; // a conversation being created for an upload
let pending: Pending[] = [];
let staged: Staged[] = [];
const shown = new Map<number, HTMLLIElement>(); // seq -> bubble of the current conversation
let loadGen = 0;
let bulk = 0; // loading a whole history: render once at the end
let lastUnread = -1;
let pageUrl = '';
let pageTitle = '';
let pageAt = Date.now();
let proactive = ''; // a proactive greeting that fired on this page
let proactiveTimer = 0;
let offlineEmail = ''; // the offline form was sent with this address
let transcriptFor = 0;
let muted = !!local().mute;

let ws: WebSocket | null = null;
let live = false; // authenticated (hello received)
let attempt = 0;
let retryTimer = 0;
let reauth = false;
let lastRx = 0;
let lastPing = 0;
let heartbeat = 25;
let frameSeq = 0;
let typingAt = 0;
let typingStopTimer = 0;
let typingHideTimer = 0;
let startTry = 0;

// ---- small helpers ---------------------------------------------------------

function originOf(s: string | null): string {
  if (!s) return '';
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.origin : '';
  } catch {
    return '';
  }
}

const mem: Record<string, string> = {};
function load(k: string): string | null {
  try {
    return localStorage.getItem(k);
  } catch {
    return k in mem ? mem[k] : null;
  }
}
function save(k: string, v: string | null): void {
  if (v === null) delete mem[k];
  else mem[k] = v;
  try {
    if (v === null) localStorage.removeItem(k);
    else localStorage.setItem(k, v);
  } catch {
    /* storage blocked: memory only, for this page view */
  }
}

/** What this browser remembers for the site besides the token. */
interface Local {
  read?: Record<string, number>; // conversation -> last seq the visitor has seen
  ar?: Record<string, number>; // conversation -> agents' read marker
  mute?: boolean;
  pre?: number; // visitor id that answered the pre-chat form
  lang?: string; // from setLocale
  px?: Record<string, number>; // proactive rule -> when it was last shown
  off?: Record<string, string>; // conversation -> email given in the offline form
  has?: boolean; // the visitor has conversations: connect at once on every page
  gr?: Record<string, string>; // conversation -> the greeting it was started from (kept on top)
  pk?: string; // the last reply shown in the peek card on a page load ("conv:seq")
}
function local(): Local {
  try {
    return JSON.parse(load(STATE_KEY) || '{}') as Local;
  } catch {
    return {};
  }
}
function remember(f: (l: Local) => void): void {
  const l = local();
  f(l);
  save(STATE_KEY, JSON.stringify(l));
}

function uuid(): string {
  const c = window.crypto;
  if (c && typeof c.randomUUID === 'function') {
    try {
      return c.randomUUID();
    } catch {
      /* not a secure context */
    }
  }
  const b = new Uint8Array(16);
  if (c && c.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = (Math.random() * 256) | 0;
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => (x + 0x100).toString(16).slice(1)).join('');
  return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text; // never innerHTML
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
function icon(d: string): SVGSVGElement {
  const s = document.createElementNS(SVG, 'svg');
  s.setAttribute('viewBox', '0 0 24 24');
  s.setAttribute('aria-hidden', 'true');
  const p = document.createElementNS(SVG, 'path');
  p.setAttribute('d', d);
  s.appendChild(p);
  return s;
}
const ICON_FILE = 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zm-1 7V3.5L18.5 9z';
const ICON_STAR = 'm12 17.3 6.2 3.7-1.6-7L22 9.2l-7.2-.6L12 2 9.2 8.6 2 9.2 7.4 14l-1.6 7z';
const ICON_X = 'M6.4 5 5 6.4l5.6 5.6L5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z';

function button(cls: string, text?: string): HTMLButtonElement {
  const b = el('button', cls, text);
  b.type = 'button';
  return b;
}

function when(iso: string | undefined): string {
  const d = iso ? new Date(iso) : new Date();
  if (isNaN(d.getTime())) return '';
  const today = new Date().toDateString() === d.toDateString();
  try {
    return d.toLocaleString(lang, today ? { hour: 'numeric', minute: '2-digit' } : { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
  } catch {
    return d.toLocaleTimeString();
  }
}

function bytes(n: number): string {
  if (n < 1024) return n + ' B';
  if (n < 1 << 20) return Math.round(n / 1024) + ' KB';
  return (n / (1 << 20)).toFixed(n < 10 << 20 ? 1 : 0).replace(/\.0$/, '') + ' MB';
}

function initial(name: string): string {
  const c = (name || '?').trim().charAt(0);
  return c ? c.toUpperCase() : '?';
}

function backoff(n: number): number {
  const cap = Math.min(30000, 1000 * Math.pow(2, Math.min(n, 5)));
  return cap / 2 + (Math.random() * cap) / 2; // "equal jitter"; never gives up
}

function items<T>(r: unknown, key: string): T[] {
  if (Array.isArray(r)) return r as T[];
  const v = r && (r as Record<string, unknown>)[key];
  return Array.isArray(v) ? (v as T[]) : [];
}

function toParent(type: string, extra?: Record<string, unknown>): void {
  if (embedded) window.parent.postMessage({ ...extra, type }, parentOrigin);
}

/** Fires Switchboard.on(name) handlers on the host page. */
function emit(name: string, data?: unknown): void {
  toParent('sb:ev', { name, data });
}

function banner(text: string): void {
  bannerEl.textContent = text;
  bannerEl.hidden = !text;
}

let toastTimer = 0;
function toast(text: string): void {
  clearTimeout(toastTimer);
  toastEl.textContent = text;
  toastEl.hidden = !text;
  if (text) toastTimer = window.setTimeout(() => toast(''), 6000);
}

function nearBottom(): boolean {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
}
function scrollDown(): void {
  scroller.scrollTop = scroller.scrollHeight;
}

// ---- cross-tab sync ----------------------------------------------------------

interface TabMsg {
  k: 'token' | 'read' | 'mute' | 'conv';
  c?: number;
  s?: number;
}
const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('switchboard.' + site) : null;
function tell(m: TabMsg): void {
  if (channel) channel.postMessage(m);
}
function onTab(m: TabMsg): void {
  if (m.k === 'token') {
    // identify() or reset() in another tab: follow it.
    const t2 = load(TOKEN_KEY) || '';
    if (t2 !== token) switchVisitor(t2);
  } else if (m.k === 'read' && m.c) {
    const c = convs.get(m.c);
    if (c) {
      c.unread = 0;
      publishUnread();
    }
  } else if (m.k === 'mute') {
    muted = !!local().mute;
    paintMenu();
  } else if (m.k === 'conv') {
    // Another tab started a conversation: connect and show it too.
    void start().then(() => loadConversations()).then(() => connect()).catch(() => undefined);
  }
}
if (channel) channel.onmessage = (e) => onTab(e.data as TabMsg);
else {
  window.addEventListener('storage', (e) => {
    if (e.key === TOKEN_KEY) onTab({ k: 'token' });
    else if (e.key === STATE_KEY) onTab({ k: 'mute' });
  });
}

// ---- HTTP ------------------------------------------------------------------

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, readonly detail: string) {
    super(detail || code);
  }
}

async function parse(r: Response): Promise<unknown> {
  const text = await r.text();
  return text ? JSON.parse(text) : null;
}

async function failure(r: Response): Promise<HttpError> {
  let code = 'http_' + r.status;
  let detail = '';
  try {
    const b = (await parse(r)) as { error?: { code?: string; message?: string } } | null;
    if (b && b.error) {
      code = b.error.code || code;
      detail = b.error.message || '';
    }
  } catch {
    /* not JSON */
  }
  return new HttpError(r.status, code, detail);
}

let sessionP: Promise<void> | null = null;

/** Creates (or, with a stored token, resumes) the visitor session. */
function session(renew = false): Promise<void> {
  if (!sessionP || renew) {
    const p = (async () => {
      const post = (tok: string) =>
        fetch(API + '/sessions', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({
            site, token: tok || undefined, page: pageUrl || undefined, locale: local().lang || navigator.language || undefined,
            origin: parentOrigin || undefined, // the embedding page, for servers that check it against the site
          }),
        });
      let r = await post(token);
      if (!r.ok && token && (r.status === 401 || r.status === 403 || r.status === 404)) r = await post('');
      if (!r.ok) throw await failure(r);
      const s = (await parse(r)) as Session;
      pagePosted = pageUrl;
      if (s.token !== token) {
        token = s.token;
        save(TOKEN_KEY, token);
      }
      visitor = s.visitor || null;
      if (s.site) applySite(s.site.name || '', s.site.settings || {});
      if (s.availability) avail = s.availability;
      paintHeader();
    })();
    sessionP = p;
    p.catch(() => {
      if (sessionP === p) sessionP = null;
    });
  }
  return sessionP;
}

/** A bearer-authenticated call to the widget API. */
async function call<T>(method: string, path: string, body?: unknown, again = false): Promise<T> {
  await session();
  const headers: Record<string, string> = { Authorization: 'Bearer ' + token };
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const r = await fetch(API + path, { method, headers, body: payload });
  if (r.status === 401 && !again) {
    await session(true);
    return call<T>(method, path, body, true);
  }
  if (!r.ok) throw await failure(r);
  return (await parse(r)) as T;
}

let configured = false; // sb:config has told the loader the site's colour and corner

function applySite(name: string, s: SiteSettings): void {
  settings = s || {};
  siteName = name;
  const color = settings.color && /^#[0-9a-f]{6}$|^#[0-9a-f]{3}$/i.test(settings.color) ? settings.color : '';
  let fg = '#fff';
  if (color) {
    root.style.setProperty('--sb-accent', color);
    fg = contrast(color);
    root.style.setProperty('--sb-accent-fg', fg);
  }
  root.classList.toggle('sb-left', settings.position === 'left');
  // Be honest when agents can watch a message being typed.
  $('sb-notice').hidden = !settings.typing_preview;
  configured = true;
  toParent('sb:config', { color, fg, position: settings.position || 'right', labels: [t('open'), t('close')] });
  void chooseLang();
}

/** #fff or #111, whichever reads better on the colour. */
function contrast(hex: string): string {
  let h = hex.slice(1);
  if (h.length === 3) h = h.replace(/./g, '$&$&');
  const [r, g, b] = [0, 2, 4].map((i) => {
    const v = parseInt(h.slice(i, i + 2), 16) / 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return lum > 0.4 ? '#111' : '#fff';
}

// ---- language ----------------------------------------------------------------

/** setLocale's choice, else the browser's languages, else the site's default, else English. */
async function chooseLang(): Promise<void> {
  const ok = await setLang(local().lang, ...(navigator.languages || []), navigator.language, settings.locale);
  if (!ok) await setLang('en');
  applyLocale();
}

function applyLocale(): void {
  root.lang = lang;
  root.dir = isRtl() ? 'rtl' : 'ltr';
  for (const e of Array.from(document.querySelectorAll<HTMLElement>('[data-t]'))) e.textContent = t(e.dataset.t as Key);
  for (const e of Array.from(document.querySelectorAll<HTMLElement>('[data-ta]'))) e.setAttribute('aria-label', t(e.dataset.ta as Key));
  for (const e of Array.from(document.querySelectorAll<HTMLTextAreaElement>('[data-tp]'))) e.placeholder = t(e.dataset.tp as Key);
  paintHeader();
  if (booted) renderAll();
  // The launcher's labels follow, once the loader has the site's look: a
  // language chosen after the session (the site's default) must reach it too.
  if (configured) toParent('sb:config', { labels: [t('open'), t('close')], color: settings.color, fg: root.style.getPropertyValue('--sb-accent-fg').trim() || '#fff', position: settings.position || 'right' });
}

// ---- header, availability, menu ------------------------------------------------

function offline(): boolean {
  return !!avail && avail.online === false;
}

// The visitor's place in the queue while nobody has taken the conversation
// (from `queue` frames); cleared when an agent joins.
let queued: { conv: number; position: number; wait: number } | null = null;

function paintHeader(): void {
  titleEl.textContent = siteName || t('title');
  teamEl.textContent = initial(siteName || t('title'));
  const off = offline();
  const inLine = !!queued && queued.conv === cur;
  statusEl.textContent = inLine
    ? t('queue', queued!.position, Math.max(1, Math.round(queued!.wait / 60)))
    : !avail ? t('help') : !off ? t('online') : avail.within_hours === false ? t('hours') : t('away');
  // The place and the wait are what a waiting visitor looks for: that line wraps instead of being cut off.
  statusEl.parentElement!.classList.toggle('sb-wrap', inLine);
  dotEl.className = 'sb-dot' + (avail ? (off ? ' sb-off' : ' sb-on') : '');
}

async function refreshAvailability(): Promise<void> {
  try {
    const a = await call<Availability>('GET', '/availability?site=' + encodeURIComponent(site));
    if (a && typeof a.online === 'boolean') {
      const changed = !avail || avail.online !== a.online;
      avail = a;
      paintHeader();
      if (changed) renderCard();
    }
  } catch {
    /* older servers have no availability endpoint: keep what the session said */
  }
}

function paintMenu(): void {
  soundItem.setAttribute('aria-checked', String(!muted));
  $('sb-m-list').hidden = convs.size === 0;
  $('sb-m-new').hidden = cur === null && view === 'chat';
  $('sb-m-email').hidden = cur === null;
}

function menuItems(): HTMLElement[] {
  return Array.from(menu.querySelectorAll<HTMLElement>('[role^=menuitem]')).filter((b) => !b.hidden);
}

function openMenu(show: boolean, focus = true): void {
  menu.hidden = !show;
  menuBtn.setAttribute('aria-expanded', String(show));
  if (show) {
    paintMenu();
    if (focus) menuItems()[0]?.focus();
  }
}

menuBtn.addEventListener('click', () => openMenu(menu.hidden));
menu.addEventListener('keydown', (e) => {
  const its = menuItems();
  const i = its.indexOf(document.activeElement as HTMLElement);
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    its[(i + (e.key === 'ArrowDown' ? 1 : its.length - 1)) % its.length]?.focus();
  } else if (e.key === 'Home' || e.key === 'End') {
    e.preventDefault();
    its[e.key === 'Home' ? 0 : its.length - 1]?.focus();
  } else if (e.key === 'Escape' || e.key === 'Tab') {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      menuBtn.focus();
    }
    openMenu(false);
  }
});
document.addEventListener('click', (e) => {
  if (!menu.hidden && !menu.contains(e.target as Node) && !menuBtn.contains(e.target as Node)) openMenu(false);
});
$('sb-m-list').addEventListener('click', () => {
  openMenu(false);
  showList();
});
$('sb-m-new').addEventListener('click', () => {
  openMenu(false);
  newConversation();
});
$('sb-m-email').addEventListener('click', () => {
  openMenu(false);
  transcriptFor = cur || 0;
  renderCard();
  focusCard();
});
soundItem.addEventListener('click', () => {
  muted = !muted;
  remember((l) => (l.mute = muted));
  tell({ k: 'mute' });
  paintMenu();
  if (!muted) beep();
});

// ---- sound -------------------------------------------------------------------

let audio: AudioContext | null = null;
/** A short two-tone chime, generated: no audio files, no third parties. */
function beep(): void {
  if (muted) return;
  try {
    const AC = window.AudioContext || (window as unknown as { webkitAudioContext: typeof AudioContext }).webkitAudioContext;
    if (!AC) return;
    audio = audio || new AC();
    if (audio.state === 'suspended') void audio.resume().catch(() => undefined);
    const now = audio.currentTime;
    [660, 880].forEach((f, i) => {
      const o = audio!.createOscillator();
      const g = audio!.createGain();
      const at = now + i * 0.12;
      o.type = 'sine';
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, at);
      g.gain.exponentialRampToValueAtTime(0.12, at + 0.015);
      g.gain.exponentialRampToValueAtTime(0.0001, at + 0.22);
      o.connect(g);
      g.connect(audio!.destination);
      o.start(at);
      o.stop(at + 0.24);
    });
  } catch {
    /* no audio here */
  }
}

// ---- conversations -------------------------------------------------------------

function conv(c: Conversation): Conv {
  let x = convs.get(c.id);
  const l = local();
  if (!x) {
    x = { ...c, msgs: new Map(), loaded: false, seen: 0, ar: (l.ar && l.ar[c.id]) || 0, unread: 0 };
    convs.set(c.id, x);
  } else {
    x.status = c.status || x.status;
    if (typeof c.last_seq === 'number') x.last_seq = Math.max(x.last_seq || 0, c.last_seq);
    if (c.rating !== undefined) x.rating = c.rating;
    if (c.last_message_at) x.last_message_at = c.last_message_at;
  }
  if (typeof c.agent_read_seq === 'number') x.ar = Math.max(x.ar, c.agent_read_seq);
  return x;
}

function closed(c: Conv | undefined): boolean {
  return !!c && c.status === 'closed';
}

function current(): Conv | undefined {
  return cur === null ? undefined : convs.get(cur);
}

function at(c: Conversation): number {
  return Date.parse(c.last_message_at || c.created_at || '') || c.id;
}

async function loadConversations(): Promise<void> {
  const g = visitorGen;
  const got = items<Conversation>(await call('GET', '/conversations'), 'conversations');
  if (g !== visitorGen) throw new Error('the visitor changed');
  for (const c of got) conv(c);
  if (convs.size && !local().has) remember((l) => (l.has = true));
  paintMenu();
  if (cur !== null && convs.has(cur)) return;
  const sorted = Array.from(convs.values()).sort((a, b) => at(b) - at(a));
  // The open conversation, else one that ended today (to rate it); older ones wait in the list.
  const pick = sorted.find((c) => !closed(c)) || sorted.find((c) => Date.now() - at(c) < DAY);
  if (pick && (cur === null && !pending.some((p) => p.conv === null))) await showConversation(pick.id, false);
}

/** Loads the unread state of conversations whose messages are not loaded (after a reload). */
async function countUnread(): Promise<void> {
  const l = local();
  for (const c of convs.values()) {
    if (c.loaded || closed(c)) continue;
    const read = (l.read && l.read[c.id]) || 0;
    if (c.last_seq > read) await fetchAfter(c, 0).catch(() => undefined);
  }
  publishUnread();
  // A reply that came while the visitor was away peeks out once.
  let newest: Message | undefined;
  for (const c of convs.values()) {
    if (!c.unread) continue;
    for (const m of c.msgs.values()) {
      if (m.author_type !== 'visitor' && m.kind !== 'event' && (!newest || Date.parse(m.created_at) > Date.parse(newest.created_at))) newest = m;
    }
  }
  const key = newest ? newest.conversation_id + ':' + newest.seq : '';
  if (newest && !isOpen && local().pk !== key) {
    remember((x) => (x.pk = key));
    peek(newest.author_name || siteName || t('support'), newest.body || (newest.attachments && newest.attachments[0] ? '\ud83d\udcce ' + newest.attachments[0].name : ''));
  }
}

async function showConversation(id: number, focus = true): Promise<void> {
  const gen = ++loadGen;
  cur = id;
  view = 'chat';
  transcriptFor = 0;
  const c = conv(convs.get(id) || { id, status: 'open', last_seq: 0 });
  renderAll();
  if (!c.loaded) {
    bulk++; // one render at the end instead of one per message
    try {
      await fetchAfter(c, c.seen);
    } finally {
      bulk--;
    }
  }
  if (gen !== loadGen) return;
  renderAll();
  scrollDown();
  markRead();
  if (focus) focusComposer();
  emit('conversation', convInfo(c));
}

/** Fetches every message after seq `after` of a conversation, page by page. */
async function fetchAfter(c: Conv, after: number): Promise<void> {
  let seq = after;
  for (let n = 0; n < 200; n++) {
    const r = await call<unknown>('GET', '/conversations/' + c.id + '/messages?after_seq=' + seq + '&limit=' + PAGE);
    const ms = items<Message>(r, 'messages');
    let max = seq;
    for (const m of ms) {
      addMessage(m, false);
      if (m.seq > max) max = m.seq;
    }
    // The server answers {messages, last_seq}; notes (never shown to visitors) may hold the last seqs.
    const last = r && (r as { last_seq?: number }).last_seq;
    if (typeof last === 'number') {
      c.last_seq = Math.max(c.last_seq || 0, last);
      c.seen = Math.max(c.seen, Math.min(last, Math.max(max, c.seen)));
    }
    if (!ms.length || max <= seq || (typeof last === 'number' ? max >= last : ms.length < PAGE / 2)) break;
    seq = max;
  }
  c.loaded = true;
}

/** Remembers the greeting a new conversation was started from (the last 20). */
function keepGreeting(id: number): void {
  const text = greetingText();
  proactive = '';
  remember((l) => {
    const gr = l.gr || {};
    gr[id] = text;
    const ids = Object.keys(gr).map(Number).sort((a, b) => b - a);
    for (const old of ids.slice(20)) delete gr[old];
    l.gr = gr;
  });
}

function convInfo(c: Conv | undefined): Record<string, unknown> | null {
  return c ? { id: c.id, status: c.status, rating: c.rating ?? null } : null;
}

function newConversation(): void {
  cur = null;
  view = 'chat';
  transcriptFor = 0;
  offlineEmail = '';
  renderAll();
  focusComposer();
}

function showList(): void {
  view = 'list';
  renderAll();
  $('sb-list-title').focus();
  void previews();
}

/** Fills in a preview line for the conversations in the list. */
async function previews(): Promise<void> {
  const todo = Array.from(convs.values()).filter((c) => c.preview === undefined).slice(0, 20);
  for (const c of todo) {
    c.preview = lastText(c);
    if (!c.preview && !c.loaded && c.last_seq > 0) {
      try {
        const r = await call<unknown>('GET', '/conversations/' + c.id + '/messages?after_seq=' + Math.max(0, c.last_seq - 5) + '&limit=5');
        const ms = items<Message>(r, 'messages').filter((m) => m.kind !== 'event' && m.kind !== 'note');
        const m = ms[ms.length - 1];
        c.preview = m ? m.body || (m.attachments && m.attachments[0] ? '\ud83d\udcce ' + m.attachments[0].name : '') : '';
      } catch {
        c.preview = '';
      }
    }
    if (view === 'list') renderList();
  }
}

function lastText(c: Conv): string {
  const ms = Array.from(c.msgs.values()).filter((m) => m.kind !== 'event').sort((a, b) => b.seq - a.seq);
  const m = ms[0];
  return m ? m.body || (m.attachments && m.attachments[0] ? '\ud83d\udcce ' + m.attachments[0].name : '') : '';
}

// ---- rendering -------------------------------------------------------------------

function renderAll(): void {
  listView.hidden = view !== 'list';
  chatView.hidden = view !== 'chat';
  backBtn.hidden = view === 'list' || convs.size === 0 || (convs.size === 1 && cur !== null);
  if (view === 'list') renderList();
  else renderChat();
  paintMenu();
  paintHeader(); // a place in the queue belongs to the conversation on screen
}

function renderList(): void {
  convList.textContent = '';
  const sorted = Array.from(convs.values()).sort((a, b) => at(b) - at(a));
  for (const c of sorted) {
    const li = el('li');
    const b = button('sb-conv');
    b.dataset.id = String(c.id);
    const top = el('span', 'sb-conv-top');
    top.appendChild(el('span', 'sb-conv-title', t('conv') + ' #' + c.id));
    const badge = el('span', 'sb-badge' + (closed(c) ? ' sb-badge-closed' : ''), closed(c) ? t('statusClosed') : t('statusOpen'));
    top.appendChild(badge);
    b.appendChild(top);
    b.appendChild(el('span', 'sb-conv-preview', c.preview || '\u00a0'));
    const meta = el('span', 'sb-conv-meta', when(c.last_message_at || c.created_at));
    if (c.unread) meta.appendChild(el('span', 'sb-conv-unread', String(c.unread)));
    b.appendChild(meta);
    b.addEventListener('click', () => void showConversation(c.id).catch(() => toast(t('error'))));
    li.appendChild(b);
    convList.appendChild(li);
  }
}

function greetingText(): string {
  return proactive || settings.greeting || t('greeting');
}

function renderChat(): void {
  shown.clear();
  list.textContent = '';
  const c = current();
  // A new conversation opens with the team's greeting, which stays on top of
  // the conversation it started (a proactive greeting gives the reply its context).
  const kept = c ? (local().gr || {})[c.id] : greetingText();
  if (kept || !c || !c.msgs.size) {
    const li = el('li', 'sb-msg sb-them sb-greeting');
    li.dataset.seq = '0';
    li.appendChild(avatarEl(siteName || t('title')));
    const col = el('div', 'sb-col');
    col.appendChild(el('div', 'sb-name', siteName || t('support')));
    const bubble = el('div', 'sb-bubble');
    const body = el('div', 'sb-msg-body');
    body.appendChild(format(kept || greetingText()));
    bubble.appendChild(body);
    col.appendChild(bubble);
    li.appendChild(col);
    list.appendChild(li);
  }
  if (c) {
    for (const m of Array.from(c.msgs.values()).sort((a, b) => a.seq - b.seq)) place(renderMessage(m, c), m.seq);
  }
  for (const p of pending) if (p.conv === cur) list.appendChild(p.li);
  regroup();
  renderCard();
  showTyping('');
}

function avatarEl(name: string): HTMLElement {
  return el('span', 'sb-avatar', initial(name));
}

function renderMessage(m: Message, c: Conv): HTMLLIElement {
  const mine = m.author_type === 'visitor';
  const event = m.kind === 'event' || m.author_type === 'system';
  const li = el('li', 'sb-msg ' + (event ? 'sb-event' : mine ? 'sb-me' : 'sb-them'));
  li.dataset.testid = 'sb-message';
  li.dataset.seq = String(m.seq);
  li.dataset.author = mine ? 'v' : event ? 's' : 'a' + (m.author_id || m.author_name || '');
  li.dataset.at = String(Date.parse(m.created_at) || 0);
  if (event) {
    li.appendChild(el('div', 'sb-msg-body', m.body)); // system text: plain
    return li;
  }
  const name = mine ? t('you') : m.author_name || t('support');
  if (!mine) li.appendChild(avatarEl(name));
  const col = el('div', 'sb-col');
  if (!mine) col.appendChild(el('div', 'sb-name', name));
  const bubble = el('div', 'sb-bubble');
  if (m.body) {
    const body = el('div', 'sb-msg-body');
    body.appendChild(format(m.body));
    bubble.appendChild(body);
  }
  const atts = m.attachments || [];
  if (atts.length) bubble.appendChild(attachmentsEl(atts));
  if (!m.body && atts.length) bubble.classList.add('sb-bare');
  col.appendChild(bubble);
  const meta = el('div', 'sb-msg-meta');
  meta.appendChild(el('time', '', when(m.created_at)));
  if (mine) {
    const st = el('span', 'sb-state');
    meta.appendChild(st);
    paintState(li, st, m.seq, c);
  }
  col.appendChild(meta);
  li.appendChild(col);
  return li;
}

function paintState(li: HTMLElement, st: HTMLElement, seq: number, c: Conv): void {
  const read = c.ar >= seq;
  li.dataset.state = read ? 'read' : 'sent';
  st.textContent = read ? t('read') : t('sent');
}

function paintStates(): void {
  const c = current();
  if (!c) return;
  for (const [seq, li] of shown) {
    const st = li.querySelector<HTMLElement>('.sb-state');
    if (st) paintState(li, st, seq, c);
  }
}

/** Groups consecutive messages of one author (name on the first, time on the last). */
function regroup(): void {
  const lis = Array.from(list.children) as HTMLElement[];
  for (let i = 0; i < lis.length; i++) {
    const a = lis[i];
    const prev = lis[i - 1];
    const next = lis[i + 1];
    const same = (x?: HTMLElement) =>
      !!x && x.dataset.author === a.dataset.author && a.dataset.author !== 's' && Math.abs(Number(x.dataset.at || 0) - Number(a.dataset.at || 0)) < 300000;
    a.classList.toggle('sb-first', !same(prev));
    a.classList.toggle('sb-last', !same(next));
  }
}

/** Inserts li before the first message with a larger seq, or before the pending ones. */
function place(li: HTMLLIElement, seq: number): void {
  let before: Element | null = null;
  for (const c of Array.from(list.children)) {
    const s = Number((c as HTMLElement).dataset.seq);
    if (isNaN(s) || s > seq) {
      before = c;
      break;
    }
  }
  list.insertBefore(li, before);
  shown.set(seq, li);
}

// ---- attachments: display ---------------------------------------------------------

const blobs = new Map<number, Promise<string>>();
function blobURL(id: number): Promise<string> {
  let p = blobs.get(id);
  if (!p) {
    p = (async () => {
      await session();
      const r = await fetch(API + '/attachments/' + id, { headers: { Authorization: 'Bearer ' + token } });
      if (!r.ok) throw await failure(r);
      return URL.createObjectURL(await r.blob());
    })();
    blobs.set(id, p);
    p.catch(() => blobs.delete(id));
  }
  return p;
}

function download(a: AttachmentRef): void {
  blobURL(a.id)
    .then((u) => {
      const link = el('a');
      link.href = u;
      link.download = a.name;
      link.rel = 'noopener';
      document.body.appendChild(link);
      link.click();
      link.remove();
    })
    .catch(() => toast(t('error')));
}

const IMAGE = /^image\/(png|jpe?g|gif|webp|avif|bmp)$/i;

function attachmentsEl(atts: AttachmentRef[]): HTMLElement {
  const wrap = el('div', 'sb-atts');
  for (const a of atts) {
    const b = button(IMAGE.test(a.content_type) ? 'sb-att-img' : 'sb-att-file');
    b.setAttribute('aria-label', t('download', a.name));
    b.title = a.name;
    if (IMAGE.test(a.content_type)) {
      const img = el('img');
      img.alt = a.name;
      img.decoding = 'async';
      const stick = nearBottom();
      img.addEventListener('load', () => {
        if (stick) scrollDown();
      });
      blobURL(a.id).then((u) => (img.src = u)).catch(() => b.classList.add('sb-att-broken'));
      b.appendChild(img);
    } else {
      b.appendChild(icon(ICON_FILE));
      const txt = el('span', 'sb-att-text');
      txt.appendChild(el('span', 'sb-att-name', a.name));
      txt.appendChild(el('span', 'sb-att-size', bytes(a.size)));
      b.appendChild(txt);
    }
    b.addEventListener('click', () => download(a));
    wrap.appendChild(b);
  }
  return wrap;
}

// ---- messages ----------------------------------------------------------------------

function addMessage(m: Message, isLive: boolean): void {
  if (m.kind === 'note') return; // never for visitors; be safe anyway
  const c = conv({ id: m.conversation_id, status: convs.get(m.conversation_id)?.status || 'open', last_seq: m.seq });
  if (m.author_type === 'visitor' && m.client_id) stored(m);
  if (c.msgs.has(m.seq)) return; // dedupe by seq
  c.msgs.set(m.seq, m);
  if (m.seq > c.seen) c.seen = m.seq;
  c.last_seq = Math.max(c.last_seq || 0, m.seq);
  if (m.created_at) c.last_message_at = m.created_at;
  c.preview = undefined;
  const fromTeam = m.author_type !== 'visitor' && m.kind !== 'event' && m.author_type !== 'system';
  // Unread: live replies after the visitor's read marker; from history only when this
  // browser has a marker (a first load on a new device is not a pile of unread).
  const readSeq = (local().read || {})[c.id];
  const visible = isOpen && !document.hidden && view === 'chat' && cur === c.id;
  if (fromTeam && !visible && (isLive ? m.seq > (readSeq || 0) : readSeq !== undefined && m.seq > readSeq)) c.unread++;
  if (isLive) {
    emit('message', {
      conversation_id: m.conversation_id, seq: m.seq, author_type: m.author_type, author_name: m.author_name || '',
      kind: m.kind, body: m.body, created_at: m.created_at,
      attachments: (m.attachments || []).map((a) => ({ name: a.name, content_type: a.content_type, size: a.size })),
    });
  }
  if (cur === null && isLive && m.author_type === 'visitor' && !pending.some((p) => p.conv === null)) {
    // Sent from another tab: follow it into the new conversation.
    void showConversation(c.id, false).catch(() => undefined);
  }
  if (bulk) {
    /* showConversation renders everything once loaded */
  } else if (cur === c.id && view === 'chat') {
    if (!shown.size && c.msgs.size === 1) renderChat(); // the first message of a new conversation
    else if (!shown.has(m.seq)) {
      const stick = nearBottom() || m.author_type === 'visitor';
      place(renderMessage(m, c), m.seq);
      regroup();
      if (stick) scrollDown();
    }
    if (fromTeam && isLive) showTyping('');
  } else if (view === 'list') renderList();
  if (isLive && fromTeam) {
    markRead();
    if (!visible) notify(m);
  }
  if (isLive && (fromTeam || m.kind === 'event')) publishUnread();
}

/** An agent's reply while the window is closed, hidden or on another conversation. */
function notify(m: Message): void {
  publishUnread();
  beep();
  if (!isOpen) peek(m.author_name || siteName || t('support'), m.body || (m.attachments && m.attachments[0] ? '\ud83d\udcce ' + m.attachments[0].name : ''));
}

function publishUnread(): void {
  let n = 0;
  for (const c of convs.values()) n += c.unread;
  if (n === lastUnread) return;
  const more = n > lastUnread && lastUnread >= 0;
  lastUnread = n;
  toParent('sb:unread', { count: n, title: t('newMsg'), quiet: muted || !more });
  if (view === 'list') renderList();
}

/**
 * Our message is stored (its ack or its message frame, whichever comes first).
 * If it started a conversation, the messages queued behind it now know where to go.
 */
function stored(m: Message): void {
  const p = settle(m.client_id || '');
  if (p && p.conv === null) {
    for (const q of pending) if (q.conv === null) q.conv = m.conversation_id;
    const c = conv({ id: m.conversation_id, status: 'open', last_seq: m.seq });
    c.loaded = true; // it is new: nothing to fetch
    if (cur === null) {
      cur = m.conversation_id;
      keepGreeting(cur);
      if (offlineEmail) remember((l) => ((l.off = l.off || {})[m.conversation_id] = offlineEmail));
      renderAll();
    }
    remember((l) => (l.has = true));
    tell({ k: 'conv' });
    emit('conversation', convInfo(c));
    flush();
  }
}

/** Removes the pending bubble of a message the server has stored. */
function settle(cid: string): Pending | undefined {
  const p = pending.find((x) => x.cid === cid);
  if (p) {
    pending = pending.filter((x) => x !== p);
    p.li.remove();
  }
  return p;
}

function showTyping(name: string): void {
  clearTimeout(typingHideTimer);
  typingEl.hidden = !name;
  $('sb-typing-text').textContent = name ? t('typing', name) : '';
  (typingEl.firstChild as HTMLElement).textContent = initial(name);
  if (name) {
    const stick = nearBottom();
    typingHideTimer = window.setTimeout(() => showTyping(''), 8000);
    if (stick) scrollDown();
  }
}

// ---- the card under the messages: pre-chat, offline form, rating, transcript ----------

function visitorHas(f: PreChatField): boolean {
  if (!visitor) return false;
  if (f.name === 'name') return !!visitor.name;
  if (f.name === 'email') return !!visitor.email;
  return !!(visitor.attributes && visitor.attributes[f.name]);
}

function needsPrechat(): boolean {
  const fields = settings.prechat_fields || [];
  if (!fields.length) return false;
  if (visitor && local().pre === visitor.id) return false;
  return fields.some((f) => f.required && !visitorHas(f)) || !visitor || !fields.some((f) => visitorHas(f));
}

function focusCard(): void {
  const f = cardSlot.querySelector<HTMLElement>('input,textarea,select,button');
  if (f) f.focus();
}

function focusComposer(): void {
  if (!isOpen) return;
  if (view === 'list') $('sb-list-title').focus();
  else if (!form.hidden) input.focus();
  else focusCard();
}

function field(label: string, control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, required: boolean): HTMLElement {
  const id = 'sb-f-' + (control.name || uuid().slice(0, 8));
  const wrap = el('div', 'sb-field');
  const l = el('label', 'sb-label', label);
  l.htmlFor = id;
  control.id = id;
  control.required = required;
  control.className = 'sb-control';
  wrap.appendChild(l);
  wrap.appendChild(control);
  const err = el('span', 'sb-field-err');
  err.id = id + '-err';
  control.setAttribute('aria-describedby', err.id);
  wrap.appendChild(err);
  return wrap;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Checks the form's controls, showing the first problem next to each; true when all is well. */
function check(f: HTMLFormElement): boolean {
  let first: HTMLElement | null = null;
  for (const c of Array.from(f.querySelectorAll<HTMLInputElement>('.sb-control'))) {
    const v = c.value.trim();
    const msg = c.required && !v ? t('required') : c.type === 'email' && v && !EMAIL.test(v) ? t('badEmail') : '';
    const err = document.getElementById(c.id + '-err');
    if (err) err.textContent = msg;
    c.setAttribute('aria-invalid', String(!!msg));
    if (msg && !first) first = c;
  }
  if (first) first.focus();
  return !first;
}

function card(cls: string, title?: string): { box: HTMLElement; form: HTMLFormElement } {
  const box = el('div', 'sb-card ' + cls);
  if (title) box.appendChild(el('p', 'sb-card-title', title));
  const f = el('form', 'sb-card-form');
  f.noValidate = true;
  box.appendChild(f);
  return { box, form: f };
}

function busy(f: HTMLFormElement, on: boolean): void {
  for (const b of Array.from(f.querySelectorAll<HTMLButtonElement>('button,input,textarea,select'))) b.disabled = on;
  f.setAttribute('aria-busy', String(on));
}

function renderCard(): void {
  cardSlot.textContent = '';
  if (view !== 'chat') return;
  const c = current();
  let showComposer = true;
  if (transcriptFor && c && transcriptFor === c.id) {
    cardSlot.appendChild(transcriptCard(c));
  }
  if (!c) {
    if (offlineEmail) cardSlot.appendChild(el('p', 'sb-note', t('offlineDone', offlineEmail)));
    else if (offline()) {
      cardSlot.appendChild(offlineCard());
      showComposer = false;
    } else if (needsPrechat()) {
      cardSlot.appendChild(prechatCard());
      showComposer = false;
    }
  } else {
    const email = (local().off || {})[c.id];
    if (email && !closed(c)) cardSlot.appendChild(el('p', 'sb-note', t('offlineDone', email)));
    if (closed(c)) {
      showComposer = false;
      cardSlot.appendChild(endedCard(c));
    }
  }
  form.hidden = !showComposer;
  // A card that just appeared (the conversation ended, a form to fill in) is brought into view.
  const sig = cardSlot.children.length ? cardSlot.firstElementChild!.className + (c ? c.id : '') : '';
  if (sig && sig !== cardSig) requestAnimationFrame(() => reveal(cardSlot.firstElementChild as HTMLElement | null));
  cardSig = sig;
}

/** Scrolls the messages so e is in view, its top edge first. */
function reveal(e: HTMLElement | null): void {
  if (!e) return;
  const r = e.getBoundingClientRect();
  const box = scroller.getBoundingClientRect();
  if (r.bottom > box.bottom) scroller.scrollTop += Math.min(r.bottom - box.bottom + 12, r.top - box.top - 12);
}
let cardSig = '';

function prechatCard(): HTMLElement {
  const { box, form: f } = card('sb-prechat', t('prechat'));
  for (const pf of settings.prechat_fields || []) {
    let ctl: HTMLInputElement | HTMLSelectElement;
    if (pf.type === 'select') {
      const s = el('select');
      const none = el('option', '', t('choose'));
      none.value = '';
      s.appendChild(none);
      for (const o of pf.options || []) {
        const opt = el('option', '', o);
        opt.value = o;
        s.appendChild(opt);
      }
      ctl = s;
    } else {
      const i = el('input');
      i.type = pf.type === 'email' || pf.name === 'email' ? 'email' : 'text';
      if (i.type === 'email') i.autocomplete = 'email';
      else if (pf.name === 'name') i.autocomplete = 'name';
      ctl = i;
    }
    ctl.name = pf.name;
    ctl.value = visitor ? (pf.name === 'name' ? visitor.name || '' : pf.name === 'email' ? visitor.email || '' : (visitor.attributes || {})[pf.name] || '') : '';
    f.appendChild(field(pf.label || pf.name, ctl, !!pf.required));
  }
  const go = button('sb-btn sb-primary', t('start'));
  go.type = 'submit';
  f.appendChild(go);
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!check(f)) return;
    const body: { name?: string; email?: string; attributes: Record<string, string> } = { attributes: {} };
    for (const c of Array.from(f.querySelectorAll<HTMLInputElement>('.sb-control'))) {
      const v = c.value.trim();
      if (!v) continue;
      if (c.name === 'name') body.name = v;
      else if (c.name === 'email') body.email = v;
      else body.attributes[c.name] = v;
    }
    busy(f, true);
    patchVisitor(body)
      .then(() => {
        remember((l) => (l.pre = visitor ? visitor.id : 0));
        renderCard();
        input.focus();
      })
      .catch(() => {
        busy(f, false);
        toast(t('error'));
      });
  });
  return box;
}

function offlineCard(): HTMLElement {
  const { box, form: f } = card('sb-offline', settings.offline_message || t('offline'));
  const email = el('input');
  email.type = 'email';
  email.name = 'email';
  email.autocomplete = 'email';
  email.value = (visitor && visitor.email) || '';
  const msg = el('textarea');
  msg.name = 'message';
  msg.rows = 4;
  msg.maxLength = 10000;
  f.appendChild(field(t('email'), email, true));
  f.appendChild(field(t('message'), msg, true));
  const go = button('sb-btn sb-primary', t('sendMsg'));
  go.type = 'submit';
  f.appendChild(go);
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!check(f)) return;
    busy(f, true);
    const addr = email.value.trim();
    patchVisitor({ email: addr })
      .then(() => {
        offlineEmail = addr;
        submit(msg.value.trim(), true);
        renderCard();
      })
      .catch(() => {
        busy(f, false);
        toast(t('error'));
      });
  });
  return box;
}

function endedCard(c: Conv): HTMLElement {
  const box = el('div', 'sb-card sb-ended');
  box.appendChild(el('p', 'sb-card-title', t('ended')));
  if (settings.rating_enabled) {
    if (typeof c.rating === 'number' && c.rating > 0) {
      box.appendChild(stars(c.rating, null));
      box.appendChild(el('p', 'sb-thanks', t('thanks')));
    } else box.appendChild(ratingForm(c));
  }
  const again = button('sb-btn sb-primary', t('newConv'));
  again.addEventListener('click', newConversation);
  box.appendChild(again);
  return box;
}

function stars(value: number, pick: ((n: number) => void) | null): HTMLElement {
  const row = el('div', 'sb-stars');
  if (pick) {
    row.setAttribute('role', 'radiogroup');
    row.setAttribute('aria-label', t('rateQ'));
  } else row.setAttribute('aria-label', t('star', value));
  for (let n = 1; n <= 5; n++) {
    const s = pick ? button('sb-star') : el('span', 'sb-star');
    s.appendChild(icon(ICON_STAR));
    s.classList.toggle('sb-on', n <= value);
    if (pick) {
      s.setAttribute('role', 'radio');
      s.setAttribute('aria-checked', String(n === value));
      s.setAttribute('aria-label', t('star', n));
      s.tabIndex = n === (value || 1) ? 0 : -1;
      s.addEventListener('click', () => pick(n));
      s.addEventListener('keydown', (e) => {
        const k = (e as KeyboardEvent).key;
        const dir = isRtl() ? -1 : 1;
        const d = k === 'ArrowRight' || k === 'ArrowUp' ? dir : k === 'ArrowLeft' || k === 'ArrowDown' ? -dir : 0;
        if (d) {
          e.preventDefault();
          pick(Math.min(5, Math.max(1, (value || 0) + d)));
        }
      });
    } else s.setAttribute('aria-hidden', 'true');
    row.appendChild(s);
  }
  return row;
}

function ratingForm(c: Conv): HTMLElement {
  const f = el('form', 'sb-card-form sb-rate');
  f.noValidate = true;
  f.appendChild(el('p', 'sb-rate-q', t('rateQ')));
  let score = 0;
  const comment = el('textarea');
  comment.name = 'comment';
  comment.rows = 2;
  comment.maxLength = 2000;
  const go = button('sb-btn sb-primary', t('submit'));
  go.type = 'submit';
  go.disabled = true;
  const paint = (n: number) => {
    score = n;
    const fresh = stars(n, paint);
    f.replaceChild(fresh, row);
    row = fresh;
    go.disabled = false;
    (row.querySelector('[aria-checked=true]') as HTMLElement | null)?.focus();
  };
  let row = stars(0, paint);
  f.appendChild(row);
  const wrap = field(t('comment'), comment, false);
  f.appendChild(wrap);
  f.appendChild(go);
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!score) return;
    busy(f, true);
    call<Conversation>('POST', '/conversations/' + c.id + '/rating', { score, comment: comment.value.trim() })
      .then((r) => {
        conv(r && r.id ? r : { ...c, rating: score });
        c.rating = (r && typeof r.rating === 'number' ? r.rating : score);
        emit('conversation', convInfo(c));
        renderCard();
        focusCard();
      })
      .catch(() => {
        busy(f, false);
        toast(t('error'));
      });
  });
  return f;
}

function transcriptCard(c: Conv): HTMLElement {
  const { box, form: f } = card('sb-transcript', t('transcript'));
  const x = button('sb-icon sb-card-x');
  x.setAttribute('aria-label', t('dismiss'));
  x.appendChild(icon(ICON_X));
  x.addEventListener('click', () => {
    transcriptFor = 0;
    renderCard();
    menuBtn.focus();
  });
  box.insertBefore(x, box.firstChild);
  const email = el('input');
  email.type = 'email';
  email.name = 'email';
  email.autocomplete = 'email';
  email.value = (visitor && visitor.email) || '';
  f.appendChild(field(t('email'), email, true));
  const go = button('sb-btn sb-primary', t('submit'));
  go.type = 'submit';
  f.appendChild(go);
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!check(f)) return;
    busy(f, true);
    const addr = email.value.trim();
    call('POST', '/conversations/' + c.id + '/transcript', { email: addr })
      .then(() => {
        box.textContent = '';
        const done = el('p', 'sb-note', t('transcriptSent', addr));
        done.setAttribute('role', 'status');
        box.appendChild(done);
        window.setTimeout(() => {
          if (transcriptFor === c.id) {
            transcriptFor = 0;
            renderCard();
          }
        }, 5000);
      })
      .catch(() => {
        busy(f, false);
        toast(t('error'));
      });
  });
  return box;
}

// Profile updates go out one at a time, in call order, so the last call wins.
let patches: Promise<unknown> = Promise.resolve();

function patchVisitor(body: Record<string, unknown>): Promise<void> {
  const next = patches.then(async () => {
    const v = await call<Visitor>('PATCH', '/visitor', body);
    if (v && v.id) visitor = v;
  });
  patches = next.catch(() => undefined);
  return next;
}

// ---- peek card (proactive greetings and replies while the window is closed) ------------

function peek(name: string, text: string): void {
  if (isOpen || !embedded) return;
  $('sb-peek-avatar').textContent = initial(name);
  $('sb-peek-name').textContent = name;
  const body = $('sb-peek-body');
  body.textContent = text.length > 160 ? text.slice(0, 157) + '\u2026' : text;
  root.classList.add('sb-peeking');
  peekEl.hidden = false;
  peekH = 0;
  sizePeek();
}

// The iframe is hidden (display: none) until the loader shows the card, so the
// first height may be a guess; once shown, the resize corrects it.
let peekH = 0;
function sizePeek(): void {
  if (peekEl.hidden) return;
  const card = peekEl.firstElementChild as HTMLElement;
  const h = card.offsetHeight > 20 && innerWidth > 100 ? Math.ceil(card.offsetHeight) + 32 : 128;
  if (h !== peekH) {
    peekH = h;
    toParent('sb:peek', { h });
  }
}
window.addEventListener('resize', sizePeek);

function unpeek(): void {
  if (peekEl.hidden) return;
  peekEl.hidden = true;
  root.classList.remove('sb-peeking');
  toParent('sb:peek', { h: 0 });
}

$('sb-peek-open').addEventListener('click', () => toParent('sb:open'));
$('sb-peek-dismiss').addEventListener('click', unpeek);

// ---- proactive greetings ------------------------------------------------------------------

function glob(pattern: string, url: string): boolean {
  if (!pattern || pattern === '*') return true;
  const re = new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 'i');
  if (re.test(url)) return true;
  try {
    const u = new URL(url);
    return re.test(u.pathname + u.search) || re.test(u.pathname);
  } catch {
    return false;
  }
}

function ruleKey(r: ProactiveRule): string {
  return (r.url_pattern || '*') + '|' + (r.message || '').slice(0, 40);
}

function planProactive(): void {
  clearTimeout(proactiveTimer);
  const rules = settings.proactive || [];
  if (!rules.length || !pageUrl) return;
  const busyNow = () => isOpen || Array.from(convs.values()).some((c) => !closed(c)) || pending.length > 0;
  if (busyNow()) return;
  const rule = rules.find((r) => r.message && glob(r.url_pattern || '*', pageUrl));
  if (!rule) return;
  const shownAt = (local().px || {})[ruleKey(rule)] || 0;
  if (Date.now() - shownAt < DAY) return; // at most once a day per rule
  const wait = Math.max(0, (rule.delay_seconds || 0) * 1000 - (Date.now() - pageAt));
  proactiveTimer = window.setTimeout(() => {
    if (busyNow()) return;
    proactive = rule.message || '';
    remember((l) => ((l.px = l.px || {})[ruleKey(rule)] = Date.now()));
    if (cur === null) renderChat();
    peek(siteName || t('support'), proactive);
  }, wait);
}

// ---- sending ---------------------------------------------------------------------

function pendingBubble(p: Pending): void {
  const li = p.li;
  li.textContent = '';
  li.className = 'sb-msg sb-me sb-last ' + (p.failed ? 'sb-failed' : 'sb-pending');
  li.dataset.author = 'v';
  li.dataset.at = String(Date.now());
  const col = el('div', 'sb-col');
  const bubble = el('div', 'sb-bubble');
  if (p.body) {
    const b = el('div', 'sb-msg-body');
    b.appendChild(format(p.body));
    bubble.appendChild(b);
  }
  if (p.files.length) {
    const wrap = el('div', 'sb-atts');
    for (const s of p.files) {
      const f = el('span', 'sb-att-file');
      f.appendChild(icon(ICON_FILE));
      const txt = el('span', 'sb-att-text');
      txt.appendChild(el('span', 'sb-att-name', s.file.name));
      txt.appendChild(el('span', 'sb-att-size', bytes(s.file.size)));
      f.appendChild(txt);
      wrap.appendChild(f);
    }
    bubble.appendChild(wrap);
  }
  col.appendChild(bubble);
  const meta = el('div', 'sb-msg-meta');
  meta.appendChild(el('span', 'sb-state', p.failed ? t('failed') : p.ids === null ? t('uploading') : t('sending')));
  col.appendChild(meta);
  li.appendChild(col);
}

/** Queues a message from the visitor (composer, offline form or Switchboard.send). */
function submit(text: string, quiet = false): void {
  const files = quiet ? [] : staged.splice(0);
  paintStaged();
  if (!text && !files.length) return;
  if (text.length > 10000) {
    toast(t('tooLong'));
    return;
  }
  let target = cur;
  if (target !== null && closed(convs.get(target))) target = null;
  if (target === null && cur !== null) {
    cur = null; // a closed conversation: this starts a new one
    renderAll();
  }
  const li = el('li');
  li.dataset.testid = 'sb-message-pending';
  const p: Pending = {
    cid: uuid(), body: text, conv: target, li, files, ids: files.length ? null : [],
    sent: false, req: '', failed: false, tries: 0, quiet,
  };
  pendingBubble(p);
  li.addEventListener('click', () => {
    if (!p.failed) return;
    p.failed = false;
    p.tries = 0;
    pendingBubble(p);
    flush();
  });
  pending.push(p);
  if (view === 'chat' && p.conv === cur) {
    list.appendChild(li);
    regroup();
    scrollDown();
  }
  if (files.length) {
    void Promise.all(files.map((s) => s.done)).then(() => {
      p.ids = files.filter((s) => s.ref).map((s) => s.ref!.id);
      if (!p.ids.length && !p.body) {
        settle(p.cid);
        return;
      }
      pendingBubble(p);
      flush();
    });
  }
  // Attachments may have created the conversation in the meantime.
  if (p.conv === null && creating) void creating.then((id) => {
    if (p.conv === null) p.conv = id;
    flush();
  }).catch(() => undefined);
  planProactive();
  void start().then(flush);
}

/** Sends every pending message that is not in flight. Only one send may start a conversation at a time. */
function flush(): void {
  if (!live) return;
  let starting = pending.some((p) => p.sent && p.conv === null) || !!creating;
  for (const p of pending) {
    if (p.sent || p.failed || p.ids === null) continue;
    if (p.conv === null) {
      if (starting) continue; // wait for the ack that names the new conversation
      starting = true;
    }
    p.sent = true;
    p.req = 'w' + ++frameSeq;
    p.tries++;
    const f: Record<string, unknown> = { type: 'send', id: p.req, client_id: p.cid, body: p.body };
    if (p.conv !== null) f.conversation_id = p.conv;
    if (p.ids.length) f.attachment_ids = p.ids;
    wsSend(f);
  }
}

function onAck(f: Frame): void {
  const m = f.message;
  if (!m) return;
  const p = pending.find((x) => x.req === f.id);
  if (p && !m.client_id) m.client_id = p.cid;
  stored(m);
  addMessage(m, true);
  if (cur === m.conversation_id) scrollDown();
  flush();
  markRead();
}

function onError(f: Frame): void {
  if (f.code === 'unauthorized') {
    reauth = true;
    down();
    return;
  }
  const p = f.id ? pending.find((x) => x.req === f.id) : undefined;
  if (!p) return;
  p.sent = false;
  const code = f.code || '';
  if ((code === 'rate_limited' || code === 'unavailable' || code === 'internal') && p.tries < 6) {
    window.setTimeout(flush, 1000 * p.tries);
  } else if ((code === 'not_found' || code === 'conflict') && p.conv !== null && p.tries < 6) {
    // The conversation is gone or closed: start a new one with the unsent messages.
    const old = p.conv;
    const c = convs.get(old);
    if (c && code === 'conflict') c.status = 'closed';
    for (const q of pending) if (q.conv === old && !q.sent) q.conv = null;
    if (cur === old) {
      cur = null;
      renderAll();
    }
    flush();
  } else {
    p.failed = true;
    pendingBubble(p);
    if (code === 'too_large') toast(t('tooLong'));
  }
}

// ---- attachments: upload ------------------------------------------------------------

/** The conversation uploads go to, created over REST when there is none yet. */
function ensureConversation(): Promise<number> {
  const c = current();
  if (c && !closed(c)) return Promise.resolve(c.id);
  if (!creating) {
    const cid = uuid();
    const p = call<Conversation>('POST', '/conversations', { client_id: cid }).then((r) => {
      const x = conv(r);
      x.loaded = true;
      if (cur === null || closed(current())) {
        cur = x.id;
        keepGreeting(x.id);
      }
      for (const q of pending) if (q.conv === null) q.conv = x.id;
      remember((l) => (l.has = true));
      tell({ k: 'conv' });
      emit('conversation', convInfo(x));
      return x.id;
    });
    creating = p;
    const clear = () => {
      if (creating === p) creating = null;
      void start().then(flush);
    };
    p.then(clear, clear);
  }
  return creating;
}

function paintStaged(): void {
  stagedEl.hidden = !staged.length;
  stagedEl.textContent = '';
  for (const s of staged) stagedEl.appendChild(s.chip);
}

function addFiles(files: ArrayLike<File>): void {
  const max = settings.max_upload_bytes || 0;
  for (const file of Array.from(files)) {
    if (max > 0 && file.size > max) {
      toast(t('tooLarge', file.name, bytes(max)));
      continue;
    }
    if (staged.length >= 10) break;
    const chip = el('li', 'sb-chip sb-uploading');
    if (/^image\//.test(file.type)) {
      const img = el('img');
      img.alt = '';
      img.src = URL.createObjectURL(file);
      chip.appendChild(img);
    } else chip.appendChild(icon(ICON_FILE));
    chip.appendChild(el('span', 'sb-chip-name', file.name));
    const x = button('sb-chip-x');
    x.setAttribute('aria-label', t('remove', file.name));
    x.appendChild(icon(ICON_X));
    chip.appendChild(x);
    const s: Staged = { file, chip, done: Promise.resolve() };
    x.addEventListener('click', () => {
      staged = staged.filter((y) => y !== s);
      paintStaged();
      input.focus();
    });
    s.done = (async () => {
      try {
        const id = await ensureConversation();
        const fd = new FormData();
        fd.append('file', file, file.name);
        s.ref = await call<AttachmentRef>('POST', '/conversations/' + id + '/attachments', fd);
        chip.classList.remove('sb-uploading');
      } catch (e) {
        staged = staged.filter((y) => y !== s);
        paintStaged();
        toast(e instanceof HttpError && e.code === 'too_large'
          ? t('tooLarge', file.name, max ? bytes(max) : e.detail.replace(/^.*than /, '') || '?')
          : t('uploadFailed', file.name));
      }
    })();
    staged.push(s);
  }
  paintStaged();
}

$('sb-attach').addEventListener('click', () => fileInput.click());
fileInput.addEventListener('change', () => {
  if (fileInput.files) addFiles(fileInput.files);
  fileInput.value = '';
  input.focus();
});
input.addEventListener('paste', (e) => {
  const files = e.clipboardData && e.clipboardData.files;
  if (files && files.length) {
    e.preventDefault();
    addFiles(files);
  }
});
let dragDepth = 0;
const canDrop = (e: DragEvent) => !form.hidden && view === 'chat' && !!e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files');
app.addEventListener('dragenter', (e) => {
  if (!canDrop(e)) return;
  e.preventDefault();
  dragDepth++;
  dropEl.hidden = false;
});
app.addEventListener('dragover', (e) => {
  if (canDrop(e)) e.preventDefault();
});
app.addEventListener('dragleave', () => {
  if (--dragDepth <= 0) {
    dragDepth = 0;
    dropEl.hidden = true;
  }
});
app.addEventListener('drop', (e) => {
  dragDepth = 0;
  dropEl.hidden = true;
  if (!canDrop(e)) return;
  e.preventDefault();
  addFiles(e.dataTransfer!.files);
});

// ---- typing and read markers ---------------------------------------------------------

function stopTyping(): void {
  clearTimeout(typingStopTimer);
  if (typingAt && cur !== null && live) wsSend({ type: 'typing', conversation_id: cur, typing: false });
  typingAt = 0;
}

function onInput(): void {
  input.style.height = 'auto';
  input.style.height = Math.min(input.scrollHeight, 140) + 'px';
  if (cur === null || closed(current()) || !live) return;
  const now = Date.now();
  if (now - typingAt > 3000) {
    typingAt = now;
    const f: Record<string, unknown> = { type: 'typing', conversation_id: cur, typing: true };
    if (settings.typing_preview) f.preview = input.value.slice(0, 200);
    wsSend(f);
  }
  clearTimeout(typingStopTimer);
  typingStopTimer = window.setTimeout(stopTyping, 4000);
}

let sentRead = new Map<number, number>();
function markRead(): void {
  const c = current();
  if (!c || !isOpen || document.hidden || view !== 'chat') return;
  if (c.unread) {
    c.unread = 0;
    publishUnread();
  }
  const seq = c.seen;
  if (!seq || (local().read || {})[c.id] >= seq && (sentRead.get(c.id) || 0) >= seq) return;
  remember((l) => ((l.read = l.read || {})[c.id] = Math.max((l.read || {})[c.id] || 0, seq)));
  tell({ k: 'read', c: c.id, s: seq });
  if (live && seq > (sentRead.get(c.id) || 0) && seq <= c.last_seq) {
    sentRead.set(c.id, seq);
    wsSend({ type: 'read', conversation_id: c.id, seq });
  }
}

// ---- websocket ---------------------------------------------------------------------

function wsSend(f: Record<string, unknown>): void {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(f));
}

let started: Promise<void> | null = null;
/** Makes sure there is a session and a socket (retrying forever in the background). */
function start(): Promise<void> {
  if (!started) {
    const g = visitorGen;
    const p = (async () => {
      for (;;) {
        if (g !== visitorGen) return; // another visitor now: their own start() runs
        try {
          await session();
          if (g !== visitorGen) return;
          if (!booted) await boot2();
          if (g !== visitorGen) return;
          startTry = 0;
          banner('');
          connect();
          return;
        } catch {
          if (isOpen) banner(t('unreachable'));
          await new Promise((r) => window.setTimeout(r, backoff(startTry++)));
        }
      }
    })();
    started = p;
  }
  return started;
}

function connect(): void {
  clearTimeout(retryTimer);
  retryTimer = 0;
  if (ws || !token) return;
  let sock: WebSocket;
  try {
    sock = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + API + '/ws');
  } catch {
    retry();
    return;
  }
  ws = sock;
  lastRx = Date.now();
  let hello = false;
  // Authenticate with the first frame: the token never appears in the URL.
  sock.onopen = () => sock.send(JSON.stringify({ type: 'auth', id: 'w' + ++frameSeq, token }));
  sock.onmessage = (e) => {
    if (ws !== sock) return;
    lastRx = Date.now();
    let f: Frame;
    try {
      f = JSON.parse(String(e.data)) as Frame;
    } catch {
      return;
    }
    if (f && f.type === 'hello') hello = true;
    if (f && typeof f.type === 'string') onFrame(f);
  };
  sock.onclose = () => {
    if (ws !== sock) return;
    if (!hello) reauth = true; // maybe an expired token: renew the session before the next try
    down();
  };
}

/** Forgets the current socket and schedules a reconnect. */
function down(again = true): void {
  const s = ws;
  ws = null;
  if (s) {
    s.onclose = s.onmessage = s.onopen = null;
    try {
      s.close();
    } catch {
      /* already closed */
    }
  }
  live = false;
  typingAt = 0;
  sentRead = new Map();
  for (const p of pending) p.sent = false;
  showTyping('');
  if (!again) return;
  banner(t('reconnecting'));
  retry();
}

function retry(): void {
  if (retryTimer) return;
  retryTimer = window.setTimeout(() => void reconnect(), backoff(attempt++));
}

async function reconnect(): Promise<void> {
  retryTimer = 0;
  if (reauth) {
    try {
      await session(true);
      reauth = false;
    } catch {
      retry();
      return;
    }
  }
  connect();
}

function onFrame(f: Frame): void {
  switch (f.type) {
    case 'hello': {
      live = true;
      attempt = 0;
      heartbeat = f.heartbeat_seconds && f.heartbeat_seconds > 0 ? f.heartbeat_seconds : 25;
      banner('');
      const resume = Array.from(convs.values()).filter((c) => c.loaded).map((c) => ({ conversation_id: c.id, last_seq: c.seen }));
      if (resume.length) wsSend({ type: 'resume', id: 'w' + ++frameSeq, conversations: resume.slice(0, 100) });
      sendPage();
      flush();
      markRead();
      break;
    }
    case 'message':
      if (f.message) addMessage(f.message, true);
      break;
    case 'ack':
      onAck(f);
      break;
    case 'error':
      onError(f);
      break;
    case 'gap': {
      const c = typeof f.conversation_id === 'number' ? convs.get(f.conversation_id) : undefined;
      if (c) void fetchAfter(c, Math.min(typeof f.after_seq === 'number' ? f.after_seq : c.seen, c.seen)).catch(() => undefined);
      break;
    }
    case 'queue':
      if (typeof f.conversation_id === 'number' && typeof f.position === 'number') {
        queued = { conv: f.conversation_id, position: f.position, wait: typeof f.estimated_wait_seconds === 'number' ? f.estimated_wait_seconds : 0 };
        paintHeader();
      }
      break;
    case 'typing':
      if (f.conversation_id === cur && f.author_type !== 'visitor') showTyping(f.typing ? f.author_name || t('support') : '');
      break;
    case 'read': {
      const c = typeof f.conversation_id === 'number' ? convs.get(f.conversation_id) : undefined;
      if (c && f.reader_type === 'agent' && typeof f.seq === 'number' && f.seq > c.ar) {
        c.ar = f.seq;
        remember((l) => ((l.ar = l.ar || {})[c.id] = c.ar));
        if (c.id === cur) paintStates();
      }
      break;
    }
    case 'conversation.updated':
      if (f.conversation && f.conversation.id && queued && queued.conv === f.conversation.id && (f.conversation.assigned || f.conversation.status !== 'open')) {
        queued = null;
        paintHeader();
      }
      if (f.conversation && f.conversation.id) {
        const before = convs.get(f.conversation.id);
        const was = before ? before.status + '/' + before.rating : '';
        const c = conv(f.conversation);
        if (was !== c.status + '/' + c.rating) {
          emit('conversation', convInfo(c));
          if (c.id === cur && view === 'chat') renderCard();
          if (view === 'list') renderList();
          paintMenu();
        }
      }
      break;
  }
}

/** Heartbeats and a watchdog for sockets that died without a close. */
function tick(): void {
  const now = Date.now();
  if (!ws) return;
  if (now - lastRx > (live ? 60000 : 15000)) {
    down();
    return;
  }
  if (live && now - lastPing >= heartbeat * 1000) {
    lastPing = now;
    wsSend({ type: 'ping', id: 'w' + ++frameSeq });
  }
}

function reconnectNow(): void {
  if (booted && !ws && token) {
    clearTimeout(retryTimer);
    retryTimer = 0;
    attempt = 0;
    void reconnect();
  }
}

let pageSent = ''; // over the socket
let pagePosted = ''; // with the session (visitors without a socket)
let pageTimer = 0;
/** Tells the agents which page the visitor is on: a page frame, or the session call when not connected. */
function sendPage(): void {
  if (!pageUrl) return;
  if (live) {
    if (pageUrl === pageSent) return;
    pageSent = pagePosted = pageUrl;
    wsSend({ type: 'page', url: pageUrl.slice(0, 2048), title: pageTitle.slice(0, 300) });
  } else if (token && sessionP && pageUrl !== pagePosted) {
    clearTimeout(pageTimer);
    pageTimer = window.setTimeout(() => {
      if (live || pageUrl === pagePosted) return;
      pagePosted = pageUrl;
      void session(true).catch(() => undefined); // the session call carries the page
    }, 1000);
  }
}

// ---- visitors: identify, reset, switching ---------------------------------------------

function forget(): void {
  visitorGen++;
  down(false);
  clearTimeout(retryTimer);
  retryTimer = 0;
  convs.clear();
  pending = [];
  staged = [];
  paintStaged();
  cur = null;
  view = 'chat';
  sentRead = new Map();
  pageSent = '';
  lastUnread = -1;
  offlineEmail = '';
  transcriptFor = 0;
  booted = false;
  started = null;
  for (const p of blobs.values()) void p.then((u) => URL.revokeObjectURL(u)).catch(() => undefined);
  blobs.clear();
}

/** Another visitor on this browser (identify merged us, reset, or another tab did either). */
function switchVisitor(newToken: string): void {
  forget();
  token = newToken;
  sessionP = null;
  renderAll();
  publishUnread();
  if (token) void start();
}

async function identify(o: Record<string, unknown>): Promise<void> {
  if (!o || typeof o.id !== 'string' && typeof o.id !== 'number') throw new HttpError(400, 'invalid', 'identify needs an id');
  await session();
  const body: Record<string, unknown> = { id: String(o.id) };
  for (const k of ['email', 'name', 'hash']) if (typeof o[k] === 'string') body[k] = o[k];
  if (o.attributes && typeof o.attributes === 'object') body.attributes = stringAttrs(o.attributes as Record<string, unknown>);
  const r = await call<{ token?: string; visitor?: Visitor }>('POST', '/identify', body);
  if (r && r.token && r.token !== token) {
    save(TOKEN_KEY, r.token);
    tell({ k: 'token' });
    switchVisitor(r.token);
  }
  if (r && r.visitor) visitor = r.visitor;
  if (booted) renderCard();
}

function stringAttrs(a: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(a)) if (v !== undefined && v !== null) out[k.slice(0, 64)] = String(v).slice(0, 1000);
  return out;
}

function reset(): void {
  save(TOKEN_KEY, null);
  save(STATE_KEY, null);
  muted = false;
  tell({ k: 'token' });
  switchVisitor('');
  void session(true).then(() => renderCard()).catch(() => undefined);
}

/** Switchboard.identify / setAttributes / setLocale / send / reset, in the order they were called. */
let calls: Promise<void> = Promise.resolve();
function hostCall(method: string, args: unknown[]): void {
  calls = calls.then(async () => {
    try {
      switch (method) {
        case 'identify':
          await identify(args[0] as Record<string, unknown>);
          break;
        case 'setAttributes':
          if (args[0] && typeof args[0] === 'object') await patchVisitor({ attributes: stringAttrs(args[0] as Record<string, unknown>) });
          break;
        case 'setLocale':
          if (typeof args[0] === 'string' && (await setLang(args[0]))) {
            remember((l) => (l.lang = lang));
            applyLocale();
            if (token) await patchVisitor({ locale: args[0] }).catch(() => undefined);
          }
          break;
        case 'send':
          if (typeof args[0] === 'string' && args[0].trim()) submit(args[0].trim(), true);
          break;
        case 'reset':
          reset();
          break;
      }
    } catch (e) {
      const err = e instanceof HttpError ? { code: e.code, message: e.detail || e.code } : { code: 'internal', message: String(e) };
      emit('error', { method, ...err });
      console.warn('Switchboard.' + method + ':', err.code, err.message);
    }
  });
}

// ---- opening and closing --------------------------------------------------------------

function setOpen(open: boolean, focus = false): void {
  isOpen = open;
  root.classList.toggle('sb-open', open);
  if (open) {
    unpeek();
    clearTimeout(proactiveTimer);
    void start().then(() => {
      if (isOpen) void refreshAvailability();
    });
    if (focus) focusComposer();
    markRead();
  } else {
    stopTyping();
    openMenu(false, false);
    planProactive();
  }
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text && !staged.length) return;
  input.value = '';
  onInput();
  stopTyping();
  submit(text);
  input.focus();
});
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    form.requestSubmit ? form.requestSubmit(sendBtn) : sendBtn.click();
  }
});
input.addEventListener('input', onInput);
input.addEventListener('blur', stopTyping);
closeBtn.hidden = !embedded;
closeBtn.addEventListener('click', () => toParent('sb:close'));
backBtn.addEventListener('click', showList);
$('sb-list-new').addEventListener('click', newConversation);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && !e.defaultPrevented) {
    if (!menu.hidden) openMenu(false);
    else if (!peekEl.hidden) unpeek();
    else toParent('sb:close');
  }
});
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) {
    markRead();
    reconnectNow();
  }
});
window.addEventListener('online', reconnectNow);
window.addEventListener('message', (e: MessageEvent) => {
  if (!embedded || e.source !== window.parent || e.origin !== parentOrigin || !isMsg(e.data)) return;
  const m: WidgetMsg = e.data;
  switch (m.type) {
    case 'sb:init':
      onPage(String(m.url || ''), String(m.title || ''));
      if (m.open) setOpen(true, !!m.focus);
      void boot();
      break;
    case 'sb:open':
      setOpen(true, !!m.focus);
      break;
    case 'sb:close':
      setOpen(false);
      break;
    case 'sb:page':
      onPage(String(m.url || ''), String(m.title || ''));
      sendPage();
      planProactive();
      break;
    case 'sb:call':
      if (typeof m.method === 'string' && Array.isArray(m.args)) hostCall(m.method, m.args);
      break;
  }
});

function onPage(url: string, title: string): void {
  if (!/^https?:/i.test(url)) return;
  if (url !== pageUrl) pageAt = Date.now();
  pageUrl = url;
  pageTitle = title;
}

// ---- boot ------------------------------------------------------------------------------

let bootP: Promise<void> | null = null;
/** First contact: the session (settings, availability), then history for returning visitors. */
function boot(): Promise<void> {
  if (!bootP) {
    bootP = (async () => {
      // Visitors who have chatted connect at once (to hear replies and report pages);
      // everyone else only when they open the window or the page calls the API.
      const returning = !!token && !!local().has;
      for (let n = 0; ; n++) {
        try {
          await session();
          break;
        } catch {
          if (isOpen) banner(t('unreachable'));
          await new Promise((r) => window.setTimeout(r, backoff(n)));
        }
      }
      banner('');
      emit('ready', { visitor_id: visitor ? visitor.id : null, online: avail ? avail.online : null });
      if (returning || isOpen) await start();
      planProactive();
    })();
  }
  return bootP;
}

/** Loads the visitor's conversations once per visitor (inside start()). */
async function boot2(): Promise<void> {
  const g = visitorGen;
  await loadConversations();
  if (g !== visitorGen) return;
  booted = true;
  renderAll();
  void countUnread();
}

window.setInterval(tick, 5000);
applyLocale();
void chooseLang();
renderAll();
toParent('sb:ready');
if (!embedded) void boot(); // opened directly (e.g. a support page linking to the frame)
