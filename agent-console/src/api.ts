// REST client: same-origin cookie auth, X-CSRF-Token on every state-changing request.

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let csrf = '';
let onUnauthorized: () => void = () => undefined;

export function setCsrf(token: string): void {
  csrf = token;
}

/** Called when a request made while logged in comes back 401. */
export function handleUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

async function once(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  try {
    return await fetch('/api/v1' + path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'unavailable', 'Cannot reach the server. Check your connection.');
  }
}

async function parse(r: Response): Promise<unknown> {
  const text = await r.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let r = await once(method, path, body);
  // A stale CSRF token (say, the server restarted): fetch a fresh one and retry once.
  if (r.status === 403 && method !== 'GET' && !path.startsWith('/auth/')) {
    const me = await once('GET', '/me');
    if (me.ok) {
      const d = (await parse(me)) as { csrf_token?: string } | null;
      if (d && d.csrf_token && d.csrf_token !== csrf) {
        csrf = d.csrf_token;
        r = await once(method, path, body);
      }
    }
  }
  const data = await parse(r);
  if (!r.ok) {
    const e: { code?: string; message?: string } = (data as { error?: { code?: string; message?: string } } | null)?.error || {};
    if (r.status === 401 && !path.startsWith('/auth/') && path !== '/me') onUnauthorized();
    throw new ApiError(r.status, e.code || 'http_' + r.status, e.message || r.statusText || 'Request failed');
  }
  return data as T;
}

/** Accepts a bare array or an object holding the array under key. */
export function items<T>(r: unknown, key: string): T[] {
  if (Array.isArray(r)) return r as T[];
  const v = r && (r as Record<string, unknown>)[key];
  return Array.isArray(v) ? (v as T[]) : [];
}

/** Accepts {key: obj} or obj itself. */
export function unwrap<T>(r: unknown, key: string): T | null {
  if (!r || typeof r !== 'object') return null;
  const v = (r as Record<string, unknown>)[key];
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as T;
  return 'id' in (r as object) ? (r as T) : null;
}

export function uuid(): string {
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

export function csrfToken(): string {
  return csrf;
}

/** True when the route is not there (yet): the server answers 404 or 405 with no such route. */
export function missing(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 404 || e.status === 405) && /^(no such route|not found|method not allowed)$/i.test(e.message);
}

/** Uploads one file as multipart "file", reporting progress (0..1). */
export function upload<T>(path: string, file: File, progress: (f: number) => void): { done: Promise<T>; abort: () => void } {
  const xhr = new XMLHttpRequest();
  const done = new Promise<T>((resolve, reject) => {
    xhr.open('POST', '/api/v1' + path);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Accept', 'application/json');
    if (csrf) xhr.setRequestHeader('X-CSRF-Token', csrf);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) progress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let data: unknown = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data as T);
      else {
        const e: { code?: string; message?: string } = (data as { error?: { code?: string; message?: string } } | null)?.error || {};
        if (xhr.status === 401) onUnauthorized();
        reject(new ApiError(xhr.status, e.code || 'http_' + xhr.status, e.message || 'Upload failed'));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, 'unavailable', 'Cannot reach the server. Check your connection.'));
    xhr.onabort = () => reject(new ApiError(0, 'aborted', 'Upload cancelled'));
    const fd = new FormData();
    fd.append('file', file, file.name);
    xhr.send(fd);
  });
  return { done, abort: () => xhr.abort() };
}

/** Encodes a query object as URL parameters, skipping empty values. */
export function qs(q: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const k of Object.keys(q)) {
    const v = q[k];
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  }
  return p.toString();
}
