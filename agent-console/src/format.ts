import type { Agent, Conversation, Visitor } from './types';

export function visitorName(c: Pick<Conversation, 'visitor_id'>, v?: Visitor | null): string {
  return (v && (v.name || v.email)) || 'Visitor #' + c.visitor_id;
}

export function agentName(id: number | null | undefined, agents: Record<number, Agent>, me: Agent): string {
  if (id == null) return 'Unassigned';
  if (id === me.id) return 'You';
  const a = agents[id];
  return a ? a.name || a.email : 'Agent #' + id;
}

function date(iso?: string | null): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return isNaN(d.getTime()) || d.getFullYear() < 1971 ? null : d;
}

/** "14:05" today, "Mar 3" this year, "Mar 3, 2024" before. */
export function shortTime(iso?: string | null): string {
  const d = date(iso);
  if (!d) return '';
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.getFullYear() === now.getFullYear()) return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  return d.toLocaleDateString([], { year: 'numeric', month: 'short', day: 'numeric' });
}

export function longTime(iso?: string | null): string {
  const d = date(iso);
  return d ? d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) : '';
}

export function errorText(e: unknown): string {
  return e instanceof Error && e.message ? e.message : 'Something went wrong.';
}

export function bytes(n: number): string {
  if (!(n >= 0)) return '';
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(n < 10240 ? 1 : 0) + ' KB';
  return (n / 1024 / 1024).toFixed(1) + ' MB';
}

/** "just now", "5 min ago", "3 h ago", then a date. */
export function ago(iso?: string | null, now = Date.now()): string {
  const d = date(iso);
  if (!d) return '';
  const s = Math.round((now - d.getTime()) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 86400) return Math.round(s / 3600) + ' h ago';
  return shortTime(iso);
}

/** Browser and OS from a user agent string: a few patterns, no library. */
export function parseUA(ua?: string | null): { browser: string; os: string } {
  if (!ua) return { browser: '', os: '' };
  const m = (re: RegExp) => re.exec(ua);
  const ver = (r: RegExpExecArray | null) => (r && r[1] ? ' ' + r[1].split('.')[0] : '');
  let browser = '';
  let r: RegExpExecArray | null;
  if ((r = m(/Edg(?:e|A|iOS)?\/([\d.]+)/))) browser = 'Edge' + ver(r);
  else if ((r = m(/OPR\/([\d.]+)/))) browser = 'Opera' + ver(r);
  else if ((r = m(/SamsungBrowser\/([\d.]+)/))) browser = 'Samsung Internet' + ver(r);
  else if ((r = m(/(?:Firefox|FxiOS)\/([\d.]+)/))) browser = 'Firefox' + ver(r);
  else if ((r = m(/(?:Chrome|CriOS)\/([\d.]+)/))) browser = (/HeadlessChrome/.test(ua) ? 'Headless Chrome' : /Chromium/.test(ua) ? 'Chromium' : 'Chrome') + ver(r);
  else if ((r = m(/Version\/([\d.]+).*Safari/))) browser = 'Safari' + ver(r);
  else if (/Safari/.test(ua)) browser = 'Safari';
  let os = '';
  if ((r = m(/Windows NT ([\d.]+)/))) os = 'Windows' + (({ '10.0': ' 10/11', '6.3': ' 8.1', '6.2': ' 8', '6.1': ' 7' } as Record<string, string>)[r[1]] || '');
  else if ((r = m(/(?:iPhone|iPad|iPod).*? OS ([\d_]+)/))) os = (/iPad/.test(ua) ? 'iPadOS ' : 'iOS ') + r[1].split('_').slice(0, 2).join('.');
  else if ((r = m(/Mac OS X ([\d_.]+)/))) os = 'macOS ' + r[1].replace(/_/g, '.').split('.').slice(0, 2).join('.');
  else if ((r = m(/Android ([\d.]+)/))) os = 'Android ' + r[1].split('.')[0];
  else if (/CrOS/.test(ua)) os = 'ChromeOS';
  else if (/Linux/.test(ua)) os = 'Linux';
  return { browser, os };
}

/** The visitor's local time, when their timezone is known and valid. */
export function localTime(tz?: string | null, locale?: string | null, now = new Date()): string {
  if (!tz) return '';
  try {
    return now.toLocaleTimeString(locale || [], { timeZone: tz, hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
  } catch {
    try {
      return now.toLocaleTimeString([], { timeZone: tz, hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
    } catch {
      return '';
    }
  }
}

export function initials(name: string): string {
  const parts = name.replace(/[^\p{L}\p{N}\s]/gu, ' ').trim().split(/\s+/).filter(Boolean);
  if (!parts.length) return '?';
  return (parts[0][0] + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}

// Avatar colours, each dark enough for white initials (WCAG AA).
const AVATAR = ['#1d4ed8', '#7c3aed', '#b91c1c', '#047857', '#b45309', '#0e7490', '#be185d', '#4338ca', '#a21caf', '#c2410c', '#0f766e', '#6d28d9'];

/** A stable avatar colour from an id. */
export function avatarColor(id: number): string {
  return AVATAR[Math.abs(id * 7 + 3) % AVATAR.length];
}

/** A URL that is safe to put in href: http(s) only. */
export function safeURL(u?: string | null): string {
  if (!u) return '';
  try {
    const x = new URL(u, location.origin);
    return x.protocol === 'http:' || x.protocol === 'https:' ? x.href : '';
  } catch {
    return '';
  }
}
