// Coordination between the console tabs an agent has open in one browser,
// over a BroadcastChannel: who else is alive (so the last tab to close can
// say "offline"), shared activity (so idle means idle in every tab), and one
// leader tab that plays sounds and shows notifications, so two tabs never
// ring twice.

export type TabMessage =
  | { t: 'hello'; from: string }
  | { t: 'here'; from: string }
  | { t: 'bye'; from: string }
  | { t: 'active'; from: string; at: number }
  | { t: 'status'; from: string; status: string; manual: boolean };

const ALIVE_MS = 12000;

export class Tabs {
  readonly id = Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
  private chan: BroadcastChannel | null = null;
  private peers = new Map<string, number>();
  private timer = 0;

  constructor(private readonly onMessage: (m: TabMessage) => void) {}

  start(): void {
    if (typeof BroadcastChannel === 'undefined') return;
    try {
      this.chan = new BroadcastChannel('switchboard-console');
    } catch {
      return;
    }
    this.chan.onmessage = (e: MessageEvent) => {
      const m = e.data as TabMessage;
      if (!m || typeof m !== 'object' || typeof m.from !== 'string' || m.from === this.id) return;
      if (m.t === 'bye') this.peers.delete(m.from);
      else this.peers.set(m.from, Date.now());
      if (m.t === 'hello') this.post({ t: 'here', from: this.id });
      this.onMessage(m);
    };
    this.post({ t: 'hello', from: this.id });
    this.timer = window.setInterval(() => this.post({ t: 'here', from: this.id }), 4000);
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.chan) {
      this.post({ t: 'bye', from: this.id });
      this.chan.close();
      this.chan = null;
    }
  }

  post(m: TabMessage): void {
    if (!this.chan) return;
    try {
      this.chan.postMessage(m);
    } catch {
      /* closed */
    }
  }

  /** How many other console tabs are alive. */
  others(): number {
    const now = Date.now();
    let n = 0;
    for (const [id, at] of this.peers) {
      if (now - at < ALIVE_MS) n++;
      else this.peers.delete(id);
    }
    return n;
  }

  /** The tab with the smallest id among the live ones leads. */
  isLeader(): boolean {
    this.others();
    for (const id of this.peers.keys()) if (id < this.id) return false;
    return true;
  }
}
