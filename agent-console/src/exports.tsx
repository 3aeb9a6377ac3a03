// Exports (docs/exports.md): start a job, poll GET /exports/{id} every
// second until it is ready or failed, then offer its download link.
// Used by the conversation header (one transcript) and Settings → Routing
// (bulk export). The header's "Email transcript" dialog is here too.

import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api';
import { bytes, errorText } from './format';
import type { Conversation, ExportJob, Visitor } from './types';
import { Dialog, Icon, toast, usePopover } from './ui';

/** Runs one export at a time: start(path, body) posts it, then polls. */
export function useExport(): { job: ExportJob | null; error: string; busy: boolean; start: (path: string, body: unknown) => Promise<void>; reset: () => void } {
  const [id, setId] = useState(0);
  const [job, setJob] = useState<ExportJob | null>(null);
  const [error, setError] = useState('');
  const [starting, setStarting] = useState(false);
  useEffect(() => {
    if (!id) return;
    let stop = false;
    let timer = 0;
    const poll = () => {
      api<ExportJob>('GET', '/exports/' + id).then(
        (j) => {
          if (stop) return;
          setJob(j);
          if (j.status !== 'ready' && j.status !== 'failed') timer = window.setTimeout(poll, 1000);
        },
        (e) => {
          if (!stop) setError(errorText(e));
        },
      );
    };
    poll();
    return () => {
      stop = true;
      window.clearTimeout(timer);
    };
  }, [id]);
  const start = async (path: string, body: unknown) => {
    setStarting(true);
    setError('');
    setJob(null);
    setId(0);
    try {
      const r = await api<{ export_id: number; export?: ExportJob }>('POST', path, body);
      if (r.export) setJob(r.export);
      setId(r.export_id);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setStarting(false);
    }
  };
  const busy = starting || (!!id && !error && (!job || (job.status !== 'ready' && job.status !== 'failed')));
  return {
    job,
    error,
    busy,
    start,
    reset: () => {
      setId(0);
      setJob(null);
      setError('');
    },
  };
}

/** Progress, error or the download link of an export. */
export function ExportStatus({ job, error, busy, idPrefix }: { job: ExportJob | null; error: string; busy: boolean; idPrefix: string }) {
  if (error)
    return (
      <p class="form-error" role="alert">
        {error}
      </p>
    );
  if (!job && !busy) return null;
  if (job && job.status === 'failed')
    return (
      <p class="form-error" role="alert" id={idPrefix + '-failed'}>
        Export failed{job.error ? ': ' + job.error : '.'}
      </p>
    );
  if (job && job.status === 'ready') {
    if (!job.download_url) return <p class="muted small">The file has expired.</p>;
    return (
      <p class="export-ready" role="status">
        <a class="btn small primary" id={idPrefix + '-download'} href={job.download_url} download={job.file_name || ''} rel="noopener">
          <Icon name="download" size={14} /> Download{job.file_name ? ' ' + job.file_name : ''}
        </a>
        {job.size ? <span class="muted small"> {bytes(job.size)}</span> : null}
      </p>
    );
  }
  const pct = Math.max(0, Math.min(100, (job && job.progress) || 0));
  return (
    <div class="export-progress" role="status">
      <progress id={idPrefix + '-progress'} max={100} value={pct} aria-label="Export progress" />
      <span class="muted small">{job && job.status === 'running' ? 'Exporting\u2026 ' + pct + '%' : 'Waiting to start\u2026'}</span>
    </div>
  );
}

const FORMATS: { id: string; label: string }[] = [
  { id: 'pdf', label: 'PDF' },
  { id: 'html', label: 'Printable HTML' },
  { id: 'txt', label: 'Plain text' },
  { id: 'json', label: 'JSON' },
];

/** The conversation header's Export menu. */
export function ExportMenu({ conv }: { conv: Conversation }) {
  const [open, setOpen, ref] = usePopover();
  const [format, setFormat] = useState('pdf');
  const [notes, setNotes] = useState(false);
  const x = useExport();
  useEffect(() => x.reset(), [conv.id]);
  return (
    <div class="popover-wrap" ref={ref}>
      <button type="button" id="export-button" class="icon-btn bordered" aria-expanded={open} title="Export" onClick={() => setOpen(!open)}>
        <Icon name="download" />
        <span class="sr-only">Export</span>
      </button>
      {open && (
        <div class="popover menu right export-menu" role="group" aria-label="Export">
          <p class="menu-title">Export transcript</p>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void x.start('/conversations/' + conv.id + '/export', { format, include_notes: notes });
            }}
          >
            <fieldset class="export-formats">
              <legend class="sr-only">Format</legend>
              {FORMATS.map((f) => (
                <label key={f.id} class="check">
                  <input type="radio" name="export-format" id={'export-format-' + f.id} value={f.id} checked={format === f.id} onChange={() => setFormat(f.id)} />
                  {f.label}
                </label>
              ))}
            </fieldset>
            <label class="check">
              <input type="checkbox" id="export-notes" checked={notes} onChange={(e) => setNotes(e.currentTarget.checked)} />
              Include private notes
            </label>
            <button type="submit" class="btn small primary" id="export-start" disabled={x.busy}>
              Export
            </button>
          </form>
          <ExportStatus job={x.job} error={x.error} busy={x.busy} idPrefix="export" />
        </div>
      )}
    </div>
  );
}

/** The conversation header's "Email transcript" button and its dialog. */
export function EmailTranscript({ conv, visitor }: { conv: Conversation; visitor: Visitor | null }) {
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [conv.id]);
  return (
    <>
      <button
        type="button"
        id="email-transcript-button"
        class="icon-btn bordered"
        aria-haspopup="dialog"
        aria-label="Email transcript"
        title="Email transcript"
        onClick={() => setOpen(true)}
      >
        <Icon name="mail" />
      </button>
      {open && <EmailTranscriptDialog conv={conv} visitor={visitor} onClose={() => setOpen(false)} />}
    </>
  );
}

/**
 * Sends the visitor's transcript email (never private notes) to the
 * visitor's address or another one: POST /conversations/{id}/transcript/email.
 */
function EmailTranscriptDialog({ conv, visitor, onClose }: { conv: Conversation; visitor: Visitor | null; onClose: () => void }) {
  const known = (visitor && visitor.id === conv.visitor_id && visitor.email) || '';
  const [to, setTo] = useState(known);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const input = useRef<HTMLInputElement>(null);
  const alive = useRef(true);
  useEffect(() => {
    if (input.current) input.current.focus();
    return () => {
      alive.current = false;
    };
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    const email = to.trim();
    if (!email) {
      setError('Enter the email address to send the transcript to.');
      if (input.current) input.current.focus();
      return;
    }
    setBusy(true);
    setError('');
    try {
      const r = await api<{ email?: string }>('POST', '/conversations/' + conv.id + '/transcript/email', { email });
      toast('Transcript on its way to ' + ((r && r.email) || email), 'ok');
      onClose();
    } catch (x) {
      if (!alive.current) {
        toast('Transcript not sent: ' + errorText(x), 'error');
        return;
      }
      setError(errorText(x));
      setBusy(false);
      if (input.current) input.current.focus();
    }
  };
  return (
    <Dialog
      title="Email transcript"
      onClose={onClose}
      id="email-transcript-dialog"
      footer={
        <>
          <button type="button" class="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form="email-transcript-form" class="btn primary" id="email-transcript-send" disabled={busy}>
            <Icon name="send" size={14} /> {busy ? 'Sending\u2026' : 'Send'}
          </button>
        </>
      }
    >
      <form id="email-transcript-form" class="stack" noValidate onSubmit={(e) => void submit(e)}>
        <div class="field">
          <label for="email-transcript-to">Send to</label>
          <input
            id="email-transcript-to"
            ref={input}
            type="email"
            inputMode="email"
            autoComplete="email"
            spellcheck={false}
            maxLength={254}
            required
            placeholder="name@example.com"
            value={to}
            readOnly={busy}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={'email-transcript-hint' + (error ? ' email-transcript-error' : '')}
            onInput={(e) => {
              setTo(e.currentTarget.value);
              if (error) setError('');
            }}
          />
          <p class="hint" id="email-transcript-hint">
            {known ? 'The visitor\u2019s address is ' + known + '. ' : 'The visitor has not given an email address. '}
            The email holds the conversation as the visitor saw it, in the visitor&rsquo;s language, with links to its attachments.
            Private notes are never included.
          </p>
          {error && (
            <p class="form-error" role="alert" id="email-transcript-error">
              {error}
            </p>
          )}
        </div>
      </form>
    </Dialog>
  );
}
