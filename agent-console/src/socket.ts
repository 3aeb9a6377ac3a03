// The agent websocket (/api/v1/agent/ws, authenticated by the session cookie):
// one socket at a time, reconnecting forever with exponential backoff and jitter,
// heartbeats every heartbeat_seconds, and a watchdog for sockets that died silently.

import { api, ApiError } from './api';
import type { Frame } from './types';

export interface SocketHooks {
  /** Every frame from the server. */
  frame(f: Frame): void;
  /** hello received; first is false after a reconnect (time to catch up). */
  hello(first: boolean): void;
  /** The socket went down (true) or came back (false). */
  reconnecting(on: boolean): void;
  /** The session is gone (GET /me says 401). */
  authLost(): void;
}

export function backoff(n: number): number {
  const cap = Math.min(30000, 1000 * Math.pow(2, Math.min(n, 5)));
  return cap / 2 + (Math.random() * cap) / 2;
}

export class AgentSocket {
  private ws: WebSocket | null = null;
  private live = false;
  private everLive = false;
  private stopped = true;
  private attempt = 0;
  private retryTimer = 0;
  private tickTimer = 0;
  private lastRx = 0;
  private lastPing = 0;
  private heartbeat = 25;
  private seq = 0;

  constructor(private readonly hooks: SocketHooks) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.tickTimer = window.setInterval(() => this.tick(), 5000);
    window.addEventListener('online', this.now);
    document.addEventListener('visibilitychange', this.now);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.tickTimer);
    clearTimeout(this.retryTimer);
    this.retryTimer = 0;
    window.removeEventListener('online', this.now);
    document.removeEventListener('visibilitychange', this.now);
    this.drop();
  }

  nextId(): string {
    return 'c' + ++this.seq;
  }

  /** Sends a frame if the socket is authenticated; reports whether it went out. */
  send(f: Record<string, unknown>): boolean {
    if (!this.live || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(f));
    return true;
  }

  isLive(): boolean {
    return this.live;
  }

  private readonly now = (): void => {
    if (this.stopped || this.ws || document.hidden) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = 0;
    this.attempt = 0;
    this.connect();
  };

  private connect(): void {
    if (this.stopped || this.ws) return;
    let sock: WebSocket;
    try {
      sock = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/v1/agent/ws');
    } catch {
      this.retry();
      return;
    }
    this.ws = sock;
    this.lastRx = Date.now();
    sock.onmessage = (e) => {
      if (this.ws !== sock) return;
      this.lastRx = Date.now();
      let f: Frame;
      try {
        f = JSON.parse(String(e.data)) as Frame;
      } catch {
        return;
      }
      if (!f || typeof f.type !== 'string') return;
      if (f.type === 'hello') {
        const first = !this.everLive;
        this.live = this.everLive = true;
        this.attempt = 0;
        if (f.heartbeat_seconds && f.heartbeat_seconds > 0) this.heartbeat = f.heartbeat_seconds;
        this.hooks.reconnecting(false);
        this.hooks.hello(first);
      }
      this.hooks.frame(f);
    };
    sock.onclose = () => {
      if (this.ws === sock) this.down();
    };
  }

  private drop(): void {
    const s = this.ws;
    this.ws = null;
    this.live = false;
    if (s) {
      s.onclose = s.onmessage = null;
      try {
        s.close();
      } catch {
        /* already closed */
      }
    }
  }

  private down(): void {
    this.drop();
    if (this.stopped) return;
    this.hooks.reconnecting(true);
    this.retry();
  }

  private retry(): void {
    if (this.retryTimer || this.stopped) return;
    const n = this.attempt++;
    this.retryTimer = window.setTimeout(() => {
      this.retryTimer = 0;
      if (n < 1) {
        this.connect();
        return;
      }
      // Repeated failures: a handshake refused with 401 looks like any other
      // close to a browser, so ask whether the session still exists.
      api('GET', '/me').then(
        () => this.connect(),
        (e: unknown) => {
          if (e instanceof ApiError && e.status === 401) {
            this.stop();
            this.hooks.authLost();
          } else this.connect();
        },
      );
    }, backoff(n));
  }

  private tick(): void {
    if (!this.ws) return;
    const now = Date.now();
    if (now - this.lastRx > (this.live ? 60000 : 15000)) {
      this.down();
      return;
    }
    if (this.live && now - this.lastPing >= this.heartbeat * 1000) {
      this.lastPing = now;
      this.send({ type: 'ping', id: this.nextId() });
    }
  }
}
