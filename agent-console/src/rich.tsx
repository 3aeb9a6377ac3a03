// Light formatting for message bodies: **bold**, *italic* / _italic_, `code`,
// "- " and "1. " lists, [text](https://...) and bare http(s) links.
//
// Output is built from Preact elements and text nodes only: whatever the text
// holds ends up as text, never parsed as HTML. Links are http(s) only and open
// in a new tab without a referrer or opener.

import type { ComponentChildren, VNode } from 'preact';
import { safeURL } from './format';

const INLINE =
  /(`[^`\n]+`)|(\*\*(?=\S)[^\n]*?\S\*\*)|(\*(?=[^*\s])[^*\n]*?[^*\s]\*|\*[^*\s]\*)|(_(?=[^_\s])[^_\n]*?[^_\s]_|_[^_\s]_)|\[([^\]\n]{1,300})\]\((https?:\/\/[^\s)]{1,2000})\)|(https?:\/\/[^\s<>()"]{1,2000}[^\s<>()".,;:!?'])/g;

function isWordChar(c: string | undefined): boolean {
  return !!c && /[\p{L}\p{N}_]/u.test(c);
}

function link(href: string, text: ComponentChildren, key: number): VNode | string {
  const u = safeURL(href);
  if (!u) return typeof text === 'string' ? text : href;
  return (
    <a key={key} href={u} target="_blank" rel="noopener noreferrer nofollow">
      {text}
    </a>
  );
}

export function inline(text: string, depth = 0): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  if (depth > 3) return [text];
  const re = new RegExp(INLINE.source, 'gu');
  let last = 0;
  let k = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const start = m.index;
    const whole = m[0];
    const end = start + whole.length;
    const emphasis = m[2] || m[3] || m[4];
    // *x* and _x_ only between word boundaries: snake_case and 2*3*4 stay text.
    if (emphasis && (isWordChar(text[start - 1]) || isWordChar(text[end]))) {
      re.lastIndex = start + 1;
      continue;
    }
    if (start > last) out.push(text.slice(last, start));
    if (m[1]) out.push(<code key={k++}>{whole.slice(1, -1)}</code>);
    else if (m[2]) out.push(<strong key={k++}>{inline(whole.slice(2, -2), depth + 1)}</strong>);
    else if (m[3] || m[4]) out.push(<em key={k++}>{inline(whole.slice(1, -1), depth + 1)}</em>);
    else if (m[5] && m[6]) out.push(link(m[6], m[5], k++));
    else if (m[7]) out.push(link(m[7], m[7], k++));
    else out.push(whole);
    last = end;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

const BULLET = /^\s{0,3}[-*\u2022]\s+(.*)$/;
const NUMBER = /^\s{0,3}(\d{1,3})[.)]\s+(.*)$/;

/** Renders a body with light formatting as Preact nodes. */
export function Rich({ text }: { text: string }) {
  const lines = text.split('\n');
  const blocks: ComponentChildren[] = [];
  let para: string[] = [];
  let k = 0;
  const flush = () => {
    if (para.length) blocks.push(<span key={k++} class="rich-p">{inline(para.join('\n'))}</span>);
    para = [];
  };
  for (let i = 0; i < lines.length; ) {
    const b = BULLET.exec(lines[i]);
    const n = !b && NUMBER.exec(lines[i]);
    if (b || n) {
      flush();
      const ordered = !b;
      const itemsText: string[] = [];
      const startAt = n ? Number(n[1]) : 1;
      while (i < lines.length) {
        const x = ordered ? NUMBER.exec(lines[i]) : BULLET.exec(lines[i]);
        if (!x) break;
        itemsText.push(ordered ? x[2] : x[1]);
        i++;
      }
      const lis = itemsText.map((t, j) => <li key={j}>{inline(t)}</li>);
      blocks.push(
        ordered ? (
          <ol key={k++} start={startAt !== 1 ? startAt : undefined}>
            {lis}
          </ol>
        ) : (
          <ul key={k++}>{lis}</ul>
        ),
      );
      continue;
    }
    para.push(lines[i]);
    i++;
  }
  flush();
  return <>{blocks}</>;
}

/** Whether a text uses any of the formatting Rich understands (for the preview). */
export function hasFormatting(text: string): boolean {
  if (/`[^`\n]+`|\*[^*\s]|_[^_\s][^_\n]*_|\[[^\]]+\]\(https?:|^\s{0,3}([-*]|\d{1,3}[.)])\s+/m.test(text)) return true;
  return false;
}
