// Alerts: a short WebAudio chime and a browser notification. The websocket
// keeps delivering frames while the tab is in the background, so both work
// there too; the audio context is unlocked by the first click or key press
// (browsers refuse sound before any user gesture).

import type { Preferences } from './types';

export type AlertKind = 'queue' | 'mine' | 'mention';

export const DEFAULT_PREFS: Preferences = {
  notify_queue: true,
  notify_mine: true,
  notify_mention: true,
  sound: true,
  desktop: true,
};

export function prefsOf(p?: Partial<Preferences> | null): Preferences {
  return { ...DEFAULT_PREFS, ...(p || {}) };
}

type AudioCtor = typeof AudioContext;

let audio: AudioContext | null = null;

function ctx(): AudioContext | null {
  if (audio) return audio;
  const C: AudioCtor | undefined = window.AudioContext || (window as unknown as { webkitAudioContext?: AudioCtor }).webkitAudioContext;
  if (!C) return null;
  try {
    audio = new C();
  } catch {
    audio = null;
  }
  return audio;
}

/** Call from a user gesture: lets later chimes play even in a background tab. */
export function unlockAudio(): void {
  const a = ctx();
  if (a && a.state === 'suspended') void a.resume().catch(() => undefined);
}

/** Two short notes; a higher pair for mentions. */
export function chime(kind: AlertKind): boolean {
  const a = ctx();
  if (!a || a.state !== 'running') return false;
  const notes = kind === 'mention' ? [880, 1175] : kind === 'queue' ? [660, 880] : [587, 784];
  const t0 = a.currentTime + 0.01;
  notes.forEach((f, i) => {
    const o = a.createOscillator();
    const g = a.createGain();
    o.type = 'sine';
    o.frequency.value = f;
    const s = t0 + i * 0.14;
    g.gain.setValueAtTime(0.0001, s);
    g.gain.exponentialRampToValueAtTime(0.18, s + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, s + 0.22);
    o.connect(g).connect(a.destination);
    o.start(s);
    o.stop(s + 0.25);
  });
  return true;
}

export function notificationsSupported(): boolean {
  return typeof Notification !== 'undefined';
}

export function notificationPermission(): NotificationPermission | 'unsupported' {
  return notificationsSupported() ? Notification.permission : 'unsupported';
}

export async function askNotificationPermission(): Promise<NotificationPermission | 'unsupported'> {
  if (!notificationsSupported()) return 'unsupported';
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

/** Shows a desktop notification; a click focuses the console and runs onClick. */
export function notify(title: string, body: string, tag: string, onClick: () => void): boolean {
  if (!notificationsSupported() || Notification.permission !== 'granted') return false;
  try {
    const n = new Notification(title, { body: body.slice(0, 180), tag, icon: '/favicon.svg' });
    n.onclick = () => {
      window.focus();
      onClick();
      n.close();
    };
    return true;
  } catch {
    return false;
  }
}

export function wants(p: Preferences, kind: AlertKind): boolean {
  return kind === 'queue' ? p.notify_queue : kind === 'mine' ? p.notify_mine : p.notify_mention;
}
