// The loader a site pastes (with the queueing stub before it):
//
//   <script>window.Switchboard=window.Switchboard||function(){(Switchboard.q=Switchboard.q||[]).push(arguments)};</script>
//   <script src="https://HOST/widget.js" data-site="SITE_KEY" async></script>
//
// It draws the launcher, defines window.Switchboard (replaying the calls the
// stub queued) and, once the host page has finished loading, the chat iframe
// (HOST/widget/frame.html). It never delays the host's load event and never
// moves the host's content: everything it adds is position:fixed.
//
// Host pages may carry hostile CSS (`* { all: unset !important }`) and a
// strict CSP without 'unsafe-inline' styles: every style is therefore set
// through the CSSOM (allowed by CSP) with !important (inline !important beats
// any stylesheet). The visitor token lives only inside the iframe's origin;
// postMessage always names the target origin and checks origin and source.

type Fn = (data?: unknown) => void;
type Api = ((cmd: string, ...args: unknown[]) => void) & Record<string, unknown> & { q?: ArrayLike<ArrayLike<unknown>>; loaded?: boolean };

declare global {
  interface Window {
    Switchboard?: Api;
  }
}

const w = window;
const d = document;
const ICON_CHAT = 'M12 3C6.5 3 2 6.6 2 11c0 2.2 1.1 4.2 2.9 5.6L4 21l4.6-2.4c1.1.3 2.2.4 3.4.4 5.5 0 10-3.6 10-8s-4.5-8-10-8z';
const ICON_CLOSE = 'M7.4 8.6 12 13.2l4.6-4.6L18 10l-6 6-6-6z'; // chevron down

/** Sets "prop:value;..." as !important inline styles (CSSOM: allowed under a strict CSP). */
function css(el: Element, text: string): void {
  for (const p of text.split(';')) {
    const i = p.indexOf(':');
    if (i > 0) (el as HTMLElement).style.setProperty(p.slice(0, i), p.slice(i + 1), 'important');
  }
}

function make<K extends keyof HTMLElementTagNameMap>(tag: K, style: string): HTMLElementTagNameMap[K] {
  const e = d.createElement(tag);
  css(e, 'all:initial;box-sizing:border-box;' + style);
  return e;
}

function main(script: HTMLScriptElement | null): void {
  const prev = w.Switchboard;
  if (prev && prev.loaded) return; // pasted twice
  script = (script && script.src && script) || d.querySelector<HTMLScriptElement>('script[data-site][src*="widget.js"]');
  if (!script || !script.src) return;
  const site = script.getAttribute('data-site') || '';
  const host = new URL(script.src, location.href).origin;
  const handlers: Record<string, Fn[]> = Object.create(null);
  const outbox: unknown[] = [];
  let frame: HTMLIFrameElement | null = null;
  let ready = false;
  let readyData: unknown;
  let mode = 0; // 0 closed, 1 peek card, 2 open
  let peekH = 0;
  let hidden = false;
  let left = false;
  let labels = ['Open chat', 'Close chat'];
  let unread = 0;
  let title = '';
  let flash = '';
  let flashTimer = 0;
  let lastUrl = location.href;
  const reduced = w.matchMedia && w.matchMedia('(prefers-reduced-motion: reduce)').matches;

  const btn = make('button', 'position:fixed;width:60px;height:60px;border-radius:50%;cursor:pointer;display:flex;align-items:center;justify-content:center;z-index:2147483000;background:#2563eb;color:#fff;box-shadow:0 6px 24px rgba(0,0,0,.22)');
  btn.id = 'sb-launcher';
  btn.type = 'button';
  btn.setAttribute('aria-expanded', 'false');
  const NS = 'http://www.w3.org/2000/svg';
  const svg = d.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  css(svg, 'all:initial;display:block;width:28px;height:28px;color:inherit;fill:currentColor');
  const path = d.createElementNS(NS, 'path');
  svg.appendChild(path);
  btn.appendChild(svg);
  const badge = make('span', 'position:absolute;top:-3px;right:-3px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#ef4444;color:#fff;font:700 12px/22px system-ui,sans-serif;text-align:center;box-shadow:0 0 0 2px #fff;display:none');
  badge.setAttribute('aria-hidden', 'true');
  btn.appendChild(badge);

  function icon(): void {
    const p = mode === 2 ? ICON_CLOSE : ICON_CHAT;
    path.setAttribute('d', p);
    css(path, 'd:path("' + p + '");fill:inherit');
    btn.setAttribute('aria-label', mode === 2 ? labels[1] : labels[0] + (unread ? ' (' + unread + ')' : ''));
  }

  function layout(): void {
    const small = w.matchMedia('(max-width:639px)').matches; // unlike innerWidth, forces no layout
    const at = (b: number, px: number) => // inset: top right bottom left
      'inset:auto ' + (left ? 'auto ' + b + 'px ' + px + 'px' : px + 'px ' + b + 'px auto');
    css(btn, at(20, 20) + ';display:' + (hidden || (small && mode === 2) ? 'none' : 'flex'));
    if (!frame) return;
    if (!mode) css(frame, 'display:none');
    else if (mode === 2 && small) css(frame, 'display:block;inset:0;width:100%;height:100%;max-height:none;max-width:none;border-radius:0;box-shadow:none');
    else {
      // The peek card's frame is 16px wider on each side (22px below) for its shadow.
      css(frame, 'display:block;' +
        (mode === 2
          ? at(hidden ? 20 : 92, 20) + ';max-width:calc(100% - 40px);width:400px;height:680px;max-height:calc(100% - ' + (hidden ? 40 : 112) + 'px);border-radius:16px;box-shadow:0 12px 48px rgba(15,23,42,.25)'
          : at(hidden ? -2 : 70, 4) + ';max-width:calc(100% - 8px);width:372px;height:' + peekH + 'px;max-height:none;border-radius:0;box-shadow:none'));
    }
  }

  function post(msg: Record<string, unknown>): void {
    if (ready && frame && frame.contentWindow) frame.contentWindow.postMessage(msg, host);
    else outbox.push(msg);
  }

  // Each handler runs in a task of its own: one that throws cannot stop the others or the widget.
  function emit(name: string, data?: unknown): void {
    for (const f of handlers[name] || []) setTimeout(f, 0, data);
  }

  function mount(): void {
    if (frame) return;
    frame = make('iframe', 'position:fixed;z-index:2147483000;background:transparent;color-scheme:normal;overflow:hidden;transition:opacity .18s ease,transform .18s ease');
    frame.id = 'sb-frame';
    frame.title = 'Chat';
    frame.allow = 'autoplay';
    // The site key (public) is in the query so the server can name the site's
    // allowed origins in frame-ancestors; the page's origin stays in the hash.
    frame.src = host + '/widget/frame.html?site=' + encodeURIComponent(site) + '#origin=' + encodeURIComponent(location.origin);
    layout();
    d.body.appendChild(frame);
  }

  function setMode(m: number, focus?: boolean): void {
    if (m === mode) return;
    const was = mode;
    mode = m;
    if (m === 2) {
      mount();
      setUnread(0);
      if (!reduced && frame) {
        css(frame, 'opacity:0;transform:translateY(12px) scale(.98)');
        requestAnimationFrame(() => requestAnimationFrame(() => frame && css(frame, 'opacity:1;transform:none')));
      }
    }
    btn.setAttribute('aria-expanded', String(m === 2));
    icon();
    layout();
    if (m === 2) {
      post({ type: 'sb:open', focus: focus !== false });
      if (focus !== false && ready && frame) frame.focus();
      emit('open');
    } else if (was === 2) {
      post({ type: 'sb:close' });
      if (frame && d.activeElement === frame && !hidden) btn.focus();
      emit('close');
    }
  }

  function setUnread(n: number, text?: string, quiet?: boolean): void {
    const more = n > unread;
    unread = n;
    badge.textContent = n > 9 ? '9+' : n ? '' + n : '';
    css(badge, 'display:' + (n && mode !== 2 ? 'block' : 'none'));
    icon();
    // The tab title blinks while something is unread and the window is closed.
    clearInterval(flashTimer);
    if (d.title === flash) d.title = title;
    const was = flash;
    flash = n && mode !== 2 && text && !quiet ? '(' + n + ') ' + text : '';
    if (flash && (more || was)) {
      title = d.title;
      flashTimer = w.setInterval(() => {
        d.title = d.title === flash ? title : ((title = d.title), flash); // keeps up with the page's own title changes
      }, 1200);
    }
  }

  function page(): void {
    if (location.href === lastUrl) return;
    lastUrl = location.href;
    // Routers set the new title just after the URL: give them a moment.
    setTimeout(() => post({ type: 'sb:page', url: lastUrl, title: d.title }), 300);
  }

  w.addEventListener('message', (e: MessageEvent) => {
    const m = e.data as Record<string, unknown> | null;
    if (!frame || e.origin !== host || e.source !== frame.contentWindow || !m || typeof m.type !== 'string') return;
    switch (m.type) {
      case 'sb:ready':
        ready = true;
        // Opened before the frame had loaded: focus moves in now.
        if (mode === 2 && d.activeElement === btn) frame.focus();
        frame.contentWindow!.postMessage({ type: 'sb:init', open: mode === 2, focus: d.activeElement === frame, url: location.href, title: d.title }, host);
        for (const x of outbox.splice(0)) post(x as Record<string, unknown>);
        break;
      case 'sb:open':
        setMode(2);
        break;
      case 'sb:close':
        setMode(0);
        break;
      case 'sb:peek':
        peekH = Math.min(Math.max(+(m.h as number) || 0, 0), 400);
        if (mode !== 2) setMode(peekH ? 1 : 0);
        layout();
        break;
      case 'sb:unread':
        setUnread(Math.max(0, +(m.count as number) || 0), String(m.title || ''), !!m.quiet);
        emit('unread', unread);
        break;
      case 'sb:config': {
        if (typeof m.color === 'string' && /^#[0-9a-f]{3,8}$/i.test(m.color)) css(btn, 'background:' + m.color + ';color:' + (m.fg === '#111' ? '#111' : '#fff'));
        const wasLeft = left;
        left = m.position === 'left';
        if (Array.isArray(m.labels)) labels = m.labels.map(String);
        icon();
        if (left !== wasLeft) layout(); // a new language alone moves nothing
        break;
      }
      case 'sb:ev':
        if (m.name === 'ready') readyData = m.data;
        emit(String(m.name), m.data);
    }
  });

  const api = function (cmd: string, ...args: unknown[]): void {
    const f = api.hasOwnProperty(cmd) && api[cmd]; // only the API's own methods, never Function's
    if (typeof f === 'function') f(...args);
    else console.warn('Switchboard: unknown command', cmd);
  } as Api;
  api.loaded = true;
  api.open = () => setMode(2);
  api.close = () => setMode(0);
  api.toggle = () => setMode(mode === 2 ? 0 : 2);
  api.show = () => {
    hidden = false;
    layout();
  };
  api.hide = () => {
    hidden = true;
    layout();
  };
  api.on = (name: string, fn: Fn) => {
    if (typeof fn !== 'function') return;
    (handlers[name] = handlers[name] || []).push(fn);
    if (name === 'ready' && readyData) fn(readyData);
  };
  api.off = (name: string, fn: Fn) => {
    handlers[name] = (handlers[name] || []).filter((x) => x !== fn);
  };
  for (const method of ['identify', 'setAttributes', 'setLocale', 'send', 'reset']) {
    api[method] = (...args: unknown[]) => {
      mount();
      post({ type: 'sb:call', method, args: JSON.parse(JSON.stringify(args)) });
    };
  }
  w.Switchboard = api;

  // Single-page apps: report every navigation to the frame (agents see the page).
  for (const k of ['pushState', 'replaceState'] as const) {
    const orig = history[k];
    history[k] = function (this: History, ...a: Parameters<History['pushState']>) {
      const r = orig.apply(this, a);
      page();
      return r;
    };
  }
  w.addEventListener('popstate', page);
  w.addEventListener('hashchange', page);
  w.addEventListener('resize', layout);
  btn.addEventListener('click', () => setMode(mode === 2 ? 0 : 2));
  btn.addEventListener('focus', () => {
    if (btn.matches(':focus-visible')) css(btn, 'outline:3px solid #93c5fd;outline-offset:3px');
  });
  btn.addEventListener('blur', () => css(btn, 'outline:none'));

  icon();
  layout();
  d.body.appendChild(btn);

  // Replay what the stub queued: Switchboard('open'), Switchboard('on', 'ready', fn) ...
  const q = prev && prev.q;
  if (q) for (const args of Array.from(q)) api(...(Array.from(args) as [string, ...unknown[]]));

  // The chat frame loads only after the host page has (it never delays the load
  // event), in idle time so it does not compete with the page's own work.
  const later = () => (w.requestIdleCallback || setTimeout)(mount, { timeout: 3000 } as never);
  if (d.readyState === 'complete') later();
  else w.addEventListener('load', later);
}

const me = d.currentScript as HTMLScriptElement | null; // only set while this file runs
if (d.body) main(me);
else d.addEventListener('DOMContentLoaded', () => main(me));

export {};
