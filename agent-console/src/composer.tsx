// The reply composer: Enter sends and Shift+Enter adds a line; light
// formatting with a live preview; emoji; attachments uploaded as soon as they
// are picked; canned responses by typing /shortcut; private notes with
// @mentions of other agents.

import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { upload } from './api';
import type { Refs } from './console';
import { bytes, errorText } from './format';
import { hasFormatting, Rich } from './rich';
import type { Agent, AttachmentRef, Canned, Visitor } from './types';
import { Icon, usePopover } from './ui';

interface Upload {
  key: number;
  name: string;
  size: number;
  progress: number;
  ref: AttachmentRef | null;
  error: string;
  abort: () => void;
}

type Suggestion = { kind: 'canned'; c: Canned } | { kind: 'agent'; a: Agent };

const drafts = new Map<number, { text: string; note: boolean }>();

const EMOJI: [string, string][] = [
  ['\u{1F600}', 'grinning'], ['\u{1F603}', 'smiley'], ['\u{1F604}', 'smile'], ['\u{1F601}', 'grin'], ['\u{1F605}', 'sweat smile'],
  ['\u{1F602}', 'joy'], ['\u{1F642}', 'slightly smiling'], ['\u{1F609}', 'wink'], ['\u{1F60A}', 'blush'], ['\u{1F607}', 'innocent'],
  ['\u{1F60D}', 'heart eyes'], ['\u{1F618}', 'kiss'], ['\u{1F60E}', 'sunglasses'], ['\u{1F914}', 'thinking'], ['\u{1F928}', 'raised eyebrow'],
  ['\u{1F610}', 'neutral'], ['\u{1F644}', 'eye roll'], ['\u{1F62E}', 'open mouth'], ['\u{1F625}', 'sad relieved'], ['\u{1F622}', 'cry'],
  ['\u{1F62D}', 'sob'], ['\u{1F631}', 'scream'], ['\u{1F621}', 'angry'], ['\u{1F973}', 'party'], ['\u{1F634}', 'sleeping'],
  ['\u{1F44B}', 'wave'], ['\u{1F44D}', 'thumbs up'], ['\u{1F44E}', 'thumbs down'], ['\u{1F44C}', 'ok hand'], ['\u{1F64F}', 'thanks'],
  ['\u{1F44F}', 'clap'], ['\u{1F64C}', 'raised hands'], ['\u{1F4AA}', 'muscle'], ['\u270C\uFE0F', 'victory'], ['\u{1F91D}', 'handshake'],
  ['\u2764\uFE0F', 'heart'], ['\u{1F499}', 'blue heart'], ['\u{1F49A}', 'green heart'], ['\u{1F525}', 'fire'], ['\u2728', 'sparkles'],
  ['\u{1F389}', 'tada'], ['\u{1F680}', 'rocket'], ['\u2B50', 'star'], ['\u2705', 'check'], ['\u274C', 'cross'],
  ['\u26A0\uFE0F', 'warning'], ['\u2753', 'question'], ['\u{1F4A1}', 'idea'], ['\u{1F4E6}', 'package'], ['\u{1F69A}', 'delivery'],
  ['\u{1F4B3}', 'card'], ['\u{1F4B0}', 'money'], ['\u{1F4E7}', 'email'], ['\u{1F4DE}', 'phone'], ['\u{1F4C5}', 'calendar'],
  ['\u23F0', 'alarm'], ['\u{1F50D}', 'search'], ['\u{1F512}', 'lock'], ['\u{1F517}', 'link'], ['\u{1F4CE}', 'paperclip'],
  ['\u2615', 'coffee'], ['\u{1F381}', 'gift'], ['\u{1F440}', 'eyes'], ['\u{1F91E}', 'fingers crossed'],
];

function fill(body: string, visitor: Visitor | null, me: Agent): string {
  const vals: Record<string, string> = {
    'visitor.name': (visitor && visitor.name) || 'there',
    'visitor.first_name': ((visitor && visitor.name) || 'there').split(/\s+/)[0],
    'visitor.email': (visitor && visitor.email) || '',
    'agent.name': me.name || '',
    'agent.first_name': (me.name || '').split(/\s+/)[0],
  };
  return body.replace(/\{\{\s*([a-z_.]+)\s*\}\}/g, (m, k: string) => (k in vals ? vals[k] : m));
}

let uploadSeq = 0;

export function Composer(p: {
  convId: number;
  visitor: Visitor | null;
  refs: Refs;
  me: Agent;
  closed: boolean;
  onSend: (body: string, note: boolean, attachments: AttachmentRef[], mentions: number[]) => void;
  onTyping: (convId: number, on: boolean) => void;
  onReopen: () => void;
}) {
  const draft = drafts.get(p.convId);
  const [text, setText] = useState(draft ? draft.text : '');
  const [note, setNote] = useState(draft ? draft.note : false);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [sugg, setSugg] = useState<{ list: Suggestion[]; start: number; end: number; index: number } | null>(null);
  const [preview, setPreview] = useState(true);
  const [drag, setDrag] = useState(false);
  const mentioned = useRef<Map<string, number>>(new Map());
  const typingAt = useRef(0);
  const stopTimer = useRef(0);
  const blurTimer = useRef(0);
  const caretTo = useRef<[number, number] | null>(null); // a selection to set once the new text is in the DOM
  const area = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const uploadsRef = useRef(uploads);
  uploadsRef.current = uploads;

  const stopTyping = () => {
    clearTimeout(stopTimer.current);
    if (typingAt.current) p.onTyping(p.convId, false);
    typingAt.current = 0;
  };

  useEffect(() => {
    if (area.current && window.matchMedia('(pointer: fine)').matches) area.current.focus();
    return stopTyping;
  }, [p.convId]);

  useEffect(() => {
    drafts.set(p.convId, { text, note });
  }, [text, note]);

  useLayoutEffect(() => {
    const a = area.current;
    const c = caretTo.current;
    if (a && c) {
      caretTo.current = null;
      a.focus();
      a.setSelectionRange(c[0], c[1]);
    }
  }, [text]);

  // Grow with the text, up to a limit.
  useEffect(() => {
    const a = area.current;
    if (!a) return;
    a.style.height = 'auto';
    a.style.height = Math.min(240, Math.max(64, a.scrollHeight + 2)) + 'px';
  }, [text]);

  const ready = uploads.filter((u) => u.ref).map((u) => u.ref as AttachmentRef);
  const uploading = uploads.some((u) => !u.ref && !u.error);
  const canSend = (text.trim() !== '' || ready.length > 0) && !uploading;

  const submit = () => {
    if (!canSend) return;
    const body = text.trim();
    const mentions: number[] = [];
    if (note) {
      for (const [name, id] of mentioned.current) if (body.includes('@' + name) && !mentions.includes(id)) mentions.push(id);
    }
    p.onSend(body, note, ready, mentions);
    setText('');
    setUploads([]);
    setSugg(null);
    mentioned.current.clear();
    drafts.delete(p.convId);
    stopTyping();
  };

  const suggest = (value: string, caret: number) => {
    const before = value.slice(0, caret);
    const m = /(^|\s)([/@])([\w.\-]{0,32})$/.exec(before);
    if (!m) return setSugg(null);
    const start = caret - m[3].length - 1;
    const term = m[3].toLowerCase();
    let list: Suggestion[] = [];
    if (m[2] === '/') {
      list = p.refs.canned
        .filter((c) => c.shortcut.toLowerCase().startsWith(term) || (term.length > 1 && c.title.toLowerCase().includes(term)))
        .slice(0, 8)
        .map((c) => ({ kind: 'canned', c }));
    } else if (note) {
      list = Object.values(p.refs.agents)
        .filter((a) => a.active !== false && a.id !== p.me.id && ((a.name || '').toLowerCase().includes(term) || a.email.toLowerCase().startsWith(term)))
        .slice(0, 8)
        .map((a) => ({ kind: 'agent', a }));
    }
    setSugg(list.length ? { list, start, end: caret, index: 0 } : null);
  };

  const replaceRange = (start: number, end: number, insert: string) => {
    const v = text.slice(0, start) + insert + text.slice(end);
    setText(v);
    setSugg(null);
    const caret = start + insert.length;
    caretTo.current = [caret, caret];
  };

  const pick = (s: Suggestion) => {
    if (!sugg) return;
    if (s.kind === 'canned') replaceRange(sugg.start, sugg.end, fill(s.c.body, p.visitor, p.me));
    else {
      const name = s.a.name || s.a.email;
      mentioned.current.set(name, s.a.id);
      replaceRange(sugg.start, sugg.end, '@' + name + ' ');
    }
  };

  const onInput = (value: string, caret: number) => {
    clearTimeout(blurTimer.current);
    setText(value);
    suggest(value, caret);
    if (note) return; // visitors never hear about notes
    const now = Date.now();
    if (value.trim() && now - typingAt.current > 3000) {
      typingAt.current = now;
      p.onTyping(p.convId, true);
    }
    clearTimeout(stopTimer.current);
    stopTimer.current = window.setTimeout(stopTyping, 4000);
  };

  const wrap = (before: string, after = before, placeholder = 'text') => {
    const a = area.current;
    if (!a) return;
    const s = a.selectionStart;
    const e = a.selectionEnd;
    const sel = text.slice(s, e) || placeholder;
    const v = text.slice(0, s) + before + sel + after + text.slice(e);
    caretTo.current = [s + before.length, s + before.length + sel.length];
    setText(v);
  };

  const list = () => {
    const a = area.current;
    if (!a) return;
    const s = text.lastIndexOf('\n', a.selectionStart - 1) + 1;
    const v = text.slice(0, s) + '- ' + text.slice(s);
    caretTo.current = [a.selectionStart + 2, a.selectionEnd + 2];
    setText(v);
  };

  const insert = (t: string) => {
    const a = area.current;
    const s = a ? a.selectionStart : text.length;
    const e = a ? a.selectionEnd : text.length;
    replaceRange(s, e, t);
  };

  const addFiles = (files: FileList | File[] | null) => {
    if (!files) return;
    for (const f of Array.from(files).slice(0, 10)) {
      const key = ++uploadSeq;
      const job = upload<AttachmentRef>(`/conversations/${p.convId}/attachments`, f, (x) =>
        setUploads((us) => us.map((u) => (u.key === key ? { ...u, progress: x } : u))),
      );
      setUploads((us) => [...us, { key, name: f.name, size: f.size, progress: 0, ref: null, error: '', abort: job.abort }]);
      job.done.then(
        (r) => {
          const ref: AttachmentRef = { id: r.id, name: r.name || f.name, content_type: r.content_type || f.type, size: r.size || f.size };
          setUploads((us) => us.map((u) => (u.key === key ? { ...u, ref, progress: 1 } : u)));
        },
        (e) => setUploads((us) => us.map((u) => (u.key === key ? { ...u, error: errorText(e) } : u))),
      );
    }
  };

  const removeUpload = (u: Upload) => {
    if (!u.ref && !u.error) u.abort();
    setUploads(uploadsRef.current.filter((x) => x.key !== u.key));
  };

  const showPreview = preview && hasFormatting(text);
  const sid = 'composer-suggestions';

  return (
    <form
      class={'composer' + (note ? ' note-mode' : '') + (drag ? ' dragging' : '')}
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      onDragOver={(e) => {
        if (e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files')) {
          e.preventDefault();
          setDrag(true);
        }
      }}
      onDragLeave={() => setDrag(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDrag(false);
        if (e.dataTransfer) addFiles(e.dataTransfer.files);
      }}
    >
      <div class="composer-tabs" role="group" aria-label="Message type">
        <button type="button" id="reply-toggle" class={'tab' + (!note ? ' active' : '')} aria-pressed={!note} onClick={() => setNote(false)}>
          Reply
        </button>
        <button
          type="button"
          id="note-toggle"
          class={'tab' + (note ? ' active' : '')}
          aria-pressed={note}
          onClick={() => {
            setNote(!note);
            stopTyping();
          }}
        >
          Private note
        </button>
        {p.closed && !note && <span class="composer-hint">This conversation is closed; the visitor still gets your reply.</span>}
      </div>
      {showPreview && (
        <div class="format-preview" aria-label="Formatting preview" data-testid="format-preview">
          <span class="preview-label">Preview</span>
          <div class="msg-body">
            <Rich text={text} />
          </div>
        </div>
      )}
      {sugg && (
        <ul class="suggestions" id={sid} role="listbox" aria-label={sugg.list[0].kind === 'canned' ? 'Canned responses' : 'Agents'}>
          {sugg.list.map((s, i) => (
            <li
              key={i}
              id={sid + '-' + i}
              role="option"
              aria-selected={i === sugg.index}
              class={i === sugg.index ? 'active' : ''}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(s);
              }}
            >
              {s.kind === 'canned' ? (
                <>
                  <span class="sc">/{s.c.shortcut}</span>
                  <span class="st">{s.c.title}</span>
                  <span class="sb">{s.c.body}</span>
                </>
              ) : (
                <>
                  <span class="sc">@{s.a.name || s.a.email}</span>
                  <span class="sb">{s.a.email}</span>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      <label for="composer" class="sr-only">
        {note ? 'Private note (visible to agents only)' : 'Reply to the visitor'}
      </label>
      <textarea
        id="composer"
        ref={area}
        rows={3}
        maxLength={10000}
        value={text}
        aria-controls={sugg ? sid : undefined}
        aria-autocomplete="list"
        aria-activedescendant={sugg ? sid + '-' + sugg.index : undefined}
        placeholder={
          note ? 'Private note: only agents see it. Type @ to mention someone.' : 'Reply\u2026  Enter sends, Shift+Enter adds a line, / for canned responses'
        }
        onInput={(e) => onInput(e.currentTarget.value, e.currentTarget.selectionStart)}
        onFocus={() => clearTimeout(blurTimer.current)}
        onBlur={() => {
          stopTyping();
          clearTimeout(blurTimer.current);
          blurTimer.current = window.setTimeout(() => setSugg(null), 150);
        }}
        onPaste={(e) => {
          const fs = e.clipboardData && e.clipboardData.files;
          if (fs && fs.length) {
            e.preventDefault();
            addFiles(fs);
          }
        }}
        onKeyPress={(e) => {
          // Some input paths send a separate keypress for Enter: it must not add a line either.
          if (e.key === 'Enter' && !e.shiftKey) e.preventDefault();
        }}
        onKeyDown={(e) => {
          if (sugg) {
            if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
              e.preventDefault();
              const n = sugg.list.length;
              setSugg({ ...sugg, index: (sugg.index + (e.key === 'ArrowDown' ? 1 : n - 1)) % n });
              return;
            }
            if (e.key === 'Enter' || e.key === 'Tab') {
              e.preventDefault();
              pick(sugg.list[sugg.index]);
              return;
            }
            if (e.key === 'Escape') {
              e.preventDefault();
              e.stopPropagation();
              setSugg(null);
              return;
            }
          }
          if (e.key === 'Escape') {
            e.currentTarget.blur();
            return;
          }
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.ctrlKey && !e.altKey) {
            e.preventDefault();
            submit();
          }
          if ((e.ctrlKey || e.metaKey) && (e.key === 'b' || e.key === 'i')) {
            e.preventDefault();
            if (e.key === 'b') wrap('**');
            else wrap('*');
          }
        }}
      />
      {uploads.length > 0 && (
        <ul class="uploads" aria-label="Attachments">
          {uploads.map((u) => (
            <li key={u.key} class={'upload' + (u.error ? ' failed' : u.ref ? ' done' : '')} data-testid="upload">
              <Icon name="file" size={14} />
              <span class="file-name">{u.name}</span>
              <span class="file-size">{u.error ? u.error : u.ref ? bytes(u.size) : Math.round(u.progress * 100) + '%'}</span>
              {!u.ref && !u.error && (
                <span class="bar" aria-hidden="true">
                  <i style={{ width: Math.round(u.progress * 100) + '%' }} />
                </span>
              )}
              <button type="button" class="icon-btn tiny" aria-label={'Remove ' + u.name} onClick={() => removeUpload(u)}>
                <Icon name="x" size={12} />
              </button>
            </li>
          ))}
        </ul>
      )}
      <div class="composer-bar">
        <div class="tools" role="toolbar" aria-label="Formatting">
          <button type="button" class="icon-btn" aria-label="Bold" title="Bold (Ctrl+B)" onClick={() => wrap('**')}>
            <Icon name="bold" />
          </button>
          <button type="button" class="icon-btn" aria-label="Italic" title="Italic (Ctrl+I)" onClick={() => wrap('*')}>
            <Icon name="italic" />
          </button>
          <button type="button" class="icon-btn" aria-label="Code" title="Code" onClick={() => wrap('`', '`', 'code')}>
            <Icon name="code" />
          </button>
          <button type="button" class="icon-btn" aria-label="List" title="List" onClick={list}>
            <Icon name="list" />
          </button>
          <button type="button" class="icon-btn" aria-label="Link" title="Link" onClick={() => wrap('[', '](https://)', 'link text')}>
            <Icon name="link" />
          </button>
          <span class="sep" aria-hidden="true" />
          <EmojiPicker onPick={insert} />
          <button type="button" class="icon-btn" id="attach" aria-label="Attach files" title="Attach files" onClick={() => fileInput.current && fileInput.current.click()}>
            <Icon name="clip" />
          </button>
          <input
            ref={fileInput}
            id="attach-input"
            type="file"
            multiple
            class="sr-only"
            tabIndex={-1}
            aria-label="Attach files"
            onChange={(e) => {
              addFiles(e.currentTarget.files);
              e.currentTarget.value = '';
            }}
          />
          {hasFormatting(text) && (
            <button
              type="button"
              class={'icon-btn' + (preview ? ' on' : '')}
              aria-label="Formatting preview"
              aria-pressed={preview}
              title="Formatting preview"
              onClick={() => setPreview(!preview)}
            >
              <Icon name="eye" />
            </button>
          )}
        </div>
        <button id="send" type="submit" class="btn primary" disabled={!canSend}>
          {note ? 'Add note' : 'Send'}
          <Icon name="send" size={14} />
        </button>
      </div>
    </form>
  );
}

function EmojiPicker({ onPick }: { onPick: (e: string) => void }) {
  const [open, setOpen, ref] = usePopover();
  return (
    <div class="popover-wrap" ref={ref}>
      <button type="button" class="icon-btn" id="emoji-button" aria-label="Emoji" title="Emoji" aria-expanded={open} onClick={() => setOpen(!open)}>
        <Icon name="smile" />
      </button>
      {open && (
        <div class="popover emoji-grid up" role="group" aria-label="Emoji">
          {EMOJI.map(([e, name]) => (
            <button
              key={name}
              type="button"
              class="emoji"
              aria-label={name}
              title={name}
              onClick={() => {
                onPick(e);
                setOpen(false);
              }}
            >
              {e}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
