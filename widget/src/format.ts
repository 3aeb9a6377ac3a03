// Light formatting for message bodies, built from DOM nodes only: nothing a
// visitor or an agent typed is ever parsed as HTML. Supported:
//
//   **bold**   *italic*  _italic_   `code`
//   lines starting with "- ", "* ", "• " (bulleted list) or "1. ", "1) " (numbered list)
//   http(s) links, www. links, mailto: links and bare email addresses
//
// Links get rel="noopener noreferrer" and target="_blank"; only http:, https:
// and mailto: URLs become links, anything else stays text.

const INLINE =
  /(`[^`\n]+`)|(\*\*[^\n]+?\*\*)|(\*[^*\s](?:[^*\n]*?[^*\s])?\*|_[^_\s](?:[^_\n]*?[^_\s])?_)|((?:https?:\/\/|mailto:|www\.)[^\s<>"]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,})/gi;
const LIST = /^\s{0,3}(?:([-*\u2022])|(\d{1,3})[.)])\s+(.*)$/;
const WORD = /[\p{L}\p{N}_]/u;

function node<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  return e;
}

/** A safe href for s, or "" when it must stay text. */
export function safeHref(s: string): string {
  let href = s;
  if (/^www\./i.test(s)) href = 'https://' + s;
  else if (!/^(https?|mailto):/i.test(s) && s.includes('@')) href = 'mailto:' + s;
  try {
    const u = new URL(href);
    if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'mailto:') return '';
    if (u.protocol !== 'mailto:' && !u.hostname) return '';
    return u.href;
  } catch {
    return '';
  }
}

/** Drops trailing punctuation that almost never belongs to a link. */
function trimLink(s: string): string {
  for (;;) {
    const last = s[s.length - 1];
    if (last === ')' && (s.match(/\(/g) || []).length >= (s.match(/\)/g) || []).length) break;
    if (!/[.,;:!?'")\]*_]/.test(last)) break;
    s = s.slice(0, -1);
  }
  return s;
}

/** Appends text to parent, with inline formatting and links. */
export function inline(text: string, parent: Node, depth = 0): void {
  const re = new RegExp(INLINE.source, 'giu');
  let at = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    let s = m[0];
    const start = m.index;
    let out: Node | null = null;
    if (m[1]) {
      out = node('code');
      out.textContent = s.slice(1, -1);
    } else if (m[2] && depth < 3 && s.length > 4) {
      out = node('strong');
      inline(s.slice(2, -2), out, depth + 1);
    } else if (m[3] && depth < 3) {
      // *x* and _x_ only at word boundaries: snake_case_names stay as they are.
      const before = text[start - 1] || ' ';
      const after = text[start + s.length] || ' ';
      if (!WORD.test(before) && !WORD.test(after)) {
        out = node('em');
        inline(s.slice(1, -1), out, depth + 1);
      }
    } else if (m[4]) {
      s = trimLink(s);
      re.lastIndex = start + s.length;
      const href = safeHref(s);
      if (href) {
        const a = node('a');
        a.href = href;
        a.rel = 'noopener noreferrer';
        a.target = '_blank';
        a.textContent = s;
        out = a;
      }
    }
    if (!out) {
      if (s.length === 0) re.lastIndex++;
      continue; // stays part of the plain text
    }
    if (start > at) parent.appendChild(document.createTextNode(text.slice(at, start)));
    parent.appendChild(out);
    at = start + s.length;
  }
  if (at < text.length) parent.appendChild(document.createTextNode(text.slice(at)));
}

/** Formats a message body into block nodes (paragraphs and lists). */
export function format(body: string): DocumentFragment {
  const f = document.createDocumentFragment();
  let para: string[] = [];
  let list: HTMLUListElement | HTMLOListElement | null = null;
  let kind = '';
  const flush = () => {
    if (!para.length) return;
    const p = node('p', 'sb-p');
    inline(para.join('\n'), p);
    f.appendChild(p);
    para = [];
  };
  for (const line of body.split('\n')) {
    const m = LIST.exec(line);
    if (m) {
      flush();
      const k = m[1] ? 'ul' : 'ol';
      if (!list || kind !== k) {
        list = node(k as 'ul');
        kind = k;
        if (m[2] && m[2] !== '1') (list as unknown as HTMLOListElement).start = Number(m[2]);
        f.appendChild(list);
      }
      const li = node('li');
      inline(m[3], li);
      list.appendChild(li);
    } else {
      if (list && !line.trim()) continue; // a blank line just after a list
      list = null;
      para.push(line);
    }
  }
  flush();
  return f;
}
