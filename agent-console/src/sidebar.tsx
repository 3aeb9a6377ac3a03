// The visitor sidebar: who they are, where they are on the site, their
// browser, local time, attributes and previous conversations. Every value a
// visitor controls is rendered as text; links are http(s) only.

import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Detail, Refs } from './console';
import { agentName, ago, localTime, longTime, parseUA, safeURL, shortTime } from './format';
import type { Agent, Conversation, PageView } from './types';
import { Icon } from './ui';

export interface VisitorExtra {
  conversations: Conversation[];
  pages: PageView[] | null;
}

function Row({ label, value, children }: { label: string; value?: string | number | null; children?: ComponentChildren }) {
  if (children === undefined && (value === undefined || value === null || value === '')) return null;
  return (
    <>
      <dt>{label}</dt>
      <dd>{children !== undefined ? children : String(value)}</dd>
    </>
  );
}

function PageLink({ url, title, full }: { url: string; title?: string; full?: boolean }) {
  const href = safeURL(url);
  let shown = url;
  try {
    const u = new URL(url);
    shown = u.host + u.pathname + u.search;
  } catch {
    /* not a URL: show as is */
  }
  const text = title ? title : shown;
  return (
    <>
      {href ? (
        <a href={href} target="_blank" rel="noopener noreferrer nofollow" title={url} class="page-link">
          {text}
        </a>
      ) : (
        <span class="page-link" title={url}>
          {text}
        </span>
      )}
      {full && title && <span class="page-url">{shown}</span>}
    </>
  );
}

export function VisitorPanel({
  detail,
  extra,
  refs,
  me,
  online,
  onClose,
}: {
  detail: Detail;
  extra: VisitorExtra | null;
  refs: Refs;
  me: Agent;
  online: boolean | undefined;
  onClose: () => void;
}) {
  const { conversation: c, visitor: v } = detail;
  const [, tick] = useState(0);
  useEffect(() => {
    const t = window.setInterval(() => tick((n) => n + 1), 30000);
    return () => clearInterval(t);
  }, []);
  const attrs = v && v.attributes ? Object.keys(v.attributes).sort() : [];
  const tz = v && v.attributes ? v.attributes.timezone || v.attributes.time_zone || v.attributes.tz || '' : '';
  const ua = parseUA(v && v.user_agent);
  const site = refs.sites[c.site_id];
  const team = c.team_id != null ? refs.teams.find((t) => t.id === c.team_id) : null;
  const pages = (extra && extra.pages) || [];
  const current = v && v.last_page;
  const previous = pages.filter((p, i) => !(i === 0 && p.url === current)).slice(0, 12);
  const others = ((extra && extra.conversations) || []).filter((x) => x.id !== c.id);
  const lt = localTime(tz, v && v.locale);

  return (
    <div class="panel">
      <div class="panel-head">
        <h2 class="sr-only">Visitor</h2>
        <button type="button" class="icon-btn panel-close" aria-label="Hide visitor details" onClick={onClose}>
          <Icon name="x" />
        </button>
      </div>
      <section class="who">
        <p class="who-name" data-testid="visitor-name">
          {(v && (v.name || v.email)) || 'Visitor #' + c.visitor_id}
          {v && v.verified && (
            <span class="badge verified-badge" title="The site vouched for this identity (HMAC)">
              <Icon name="shield" size={12} /> Verified
            </span>
          )}
        </p>
        {v && v.email && (
          <p class="who-line" data-testid="visitor-email">
            <Icon name="mail" size={14} />
            <span>{v.email}</span>
          </p>
        )}
        <p class="who-line">
          <span class={'presence-dot ' + (online ? 'on' : '')} aria-hidden="true" />
          <span>{online ? 'Online now' : v && v.last_seen_at ? 'Last seen ' + ago(v.last_seen_at) : 'Offline'}</span>
        </p>
      </section>

      <section>
        <h3>Details</h3>
        <dl>
          <Row label="Local time" value={lt} />
          <Row label="Timezone" value={lt ? '' : tz} />
          <Row label="Language" value={v && v.locale} />
          <Row label="Browser" value={ua.browser} />
          <Row label="System" value={ua.os} />
          <Row label="Site" value={site ? site.name : 'Site #' + c.site_id} />
          <Row label="User ID" value={v && v.external_id} />
          <Row label="First seen" value={v ? longTime(v.created_at) : ''} />
        </dl>
      </section>

      <section>
        <h3>Pages</h3>
        {current ? (
          <div class="current-page" data-testid="current-page">
            <span class="muted small">Now on</span>
            <PageLink url={current} title={pages.length && pages[0].url === current ? pages[0].title : ''} full />
          </div>
        ) : (
          <p class="muted small">No page reported yet.</p>
        )}
        {previous.length > 0 && (
          <ol class="pages" aria-label="Previous pages">
            {previous.map((pg, i) => (
              <li key={i}>
                <PageLink url={pg.url} title={pg.title} />
                {pg.at && <span class="muted small">{shortTime(pg.at)}</span>}
              </li>
            ))}
          </ol>
        )}
      </section>

      <section>
        <h3>Conversation</h3>
        <dl>
          <Row label="Status" value={c.status} />
          <Row label="Assignee" value={agentName(c.assignee_id, refs.agents, me)} />
          <Row label="Team" value={team ? team.name : ''} />
          <Row label="Priority" value={c.priority} />
          <Row label="Labels">
            {c.labels && c.labels.length ? (
              <span class="chips">
                {c.labels.map((l) => (
                  <span key={l} class="chip">
                    {l}
                  </span>
                ))}
              </span>
            ) : undefined}
          </Row>
          <Row label="Started" value={longTime(c.created_at)} />
          <Row label="First reply" value={longTime(c.first_response_at)} />
          <Row label="Snoozed until" value={c.status === 'snoozed' ? longTime(c.snoozed_until) : ''} />
          <Row label="Rating" value={c.rating ? '\u2605'.repeat(c.rating) + '\u2606'.repeat(Math.max(0, 5 - c.rating)) + (c.rating_comment ? ' \u201c' + c.rating_comment + '\u201d' : '') : ''} />
        </dl>
      </section>

      {v && attrs.length > 0 && (
        <section>
          <h3>Attributes</h3>
          <dl class="attrs" data-testid="attributes">
            {attrs.map((k) => (
              <Row key={k} label={k} value={(v.attributes as Record<string, string>)[k]} />
            ))}
          </dl>
        </section>
      )}

      <section>
        <h3>Previous conversations</h3>
        {extra === null ? (
          <p class="muted small">Loading&hellip;</p>
        ) : others.length === 0 ? (
          <p class="muted small">None: this is the first one.</p>
        ) : (
          <ul class="history">
            {others.slice(0, 20).map((x) => (
              <li key={x.id}>
                <a href={'#/c/' + x.id}>
                  <span>#{x.id}</span>
                  <span class={'badge ' + x.status}>{x.status}</span>
                  <span class="muted small">{shortTime(x.last_message_at || x.created_at)}</span>
                </a>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
