// Settings: the agent's own profile and alerts, and (admins only) the
// workspace: sites, agents, teams, canned responses, labels, API tokens,
// retention.

import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { askNotificationPermission, chime, notificationPermission, prefsOf, unlockAudio } from './alerts';
import { api, items, unwrap } from './api';
import { ExportStatus, useExport } from './exports';
import type { Refs } from './console';
import { errorText, longTime, shortTime } from './format';
import type {
  Agent,
  ApiToken,
  BusinessHours,
  Canned,
  Label,
  MailboxEntry,
  Preferences,
  PreChatField,
  ProactiveRule,
  RoutingRule,
  RoutingSettings,
  Site,
  SiteSettings,
  Team,
  Webhook,
  WebhookDelivery,
  Workspace,
} from './types';
import { Avatar, copyText, Dialog, Empty, Field, Icon, Switch, toast } from './ui';

interface Props {
  me: Agent;
  isAdmin: boolean;
  section: string;
  id: string;
  refs: Refs;
  onRefsChanged: () => void;
  onSavePrefs: (patch: Partial<Agent>) => Promise<void>;
  onMenu: () => void;
}

const ADMIN_SECTIONS: { id: string; label: string; icon: string }[] = [
  { id: 'sites', label: 'Sites & widget', icon: 'globe' },
  { id: 'agents', label: 'Agents', icon: 'user' },
  { id: 'teams', label: 'Teams', icon: 'users' },
  { id: 'canned', label: 'Canned responses', icon: 'zap' },
  { id: 'labels', label: 'Labels', icon: 'tag' },
  { id: 'tokens', label: 'API tokens', icon: 'key' },
  { id: 'routing', label: 'Routing', icon: 'transfer' },
  { id: 'webhooks', label: 'Webhooks', icon: 'link' },
  { id: 'mailbox', label: 'Mailbox', icon: 'mail' },
  { id: 'workspace', label: 'Workspace', icon: 'building' },
];

export function Settings(p: Props) {
  const section = p.section && (p.section === 'profile' || (p.isAdmin && ADMIN_SECTIONS.some((s) => s.id === p.section))) ? p.section : 'profile';
  let body: ComponentChildren;
  switch (section) {
    case 'sites':
      body = p.id ? <SiteEditor id={Number(p.id)} /> : <Sites />;
      break;
    case 'agents':
      body = <Agents {...p} />;
      break;
    case 'teams':
      body = <Teams {...p} />;
      break;
    case 'canned':
      body = <CannedPage {...p} />;
      break;
    case 'labels':
      body = <Labels {...p} />;
      break;
    case 'tokens':
      body = <Tokens />;
      break;
    case 'workspace':
      body = <WorkspacePage />;
      break;
    case 'routing':
      body = <RoutingPage {...p} />;
      break;
    case 'webhooks':
      body = <WebhooksPage />;
      break;
    case 'mailbox':
      body = <MailboxPage />;
      break;
    default:
      body = <Profile {...p} />;
  }
  return (
    <div class="settings">
      <nav class="settings-nav" aria-label="Settings">
        <div class="settings-nav-head">
          <button type="button" class="icon-btn menu-btn" aria-label="Open the menu" onClick={p.onMenu}>
            <Icon name="all" />
          </button>
          <h1>Settings</h1>
        </div>
        <p class="nav-heading">You</p>
        <ul class="nav-list">
          <li>
            <a href="#/settings/profile" id="settings-profile" class={'nav-item' + (section === 'profile' ? ' active' : '')} aria-current={section === 'profile' ? 'page' : undefined}>
              <Icon name="bell" />
              <span class="nav-label">Profile & alerts</span>
            </a>
          </li>
        </ul>
        {p.isAdmin && (
          <>
            <p class="nav-heading">Workspace</p>
            <ul class="nav-list">
              {ADMIN_SECTIONS.map((s) => (
                <li key={s.id}>
                  <a
                    href={'#/settings/' + s.id}
                    id={'settings-' + s.id}
                    class={'nav-item' + (section === s.id ? ' active' : '')}
                    aria-current={section === s.id ? 'page' : undefined}
                  >
                    <Icon name={s.icon} />
                    <span class="nav-label">{s.label}</span>
                  </a>
                </li>
              ))}
            </ul>
          </>
        )}
      </nav>
      <main class="settings-main" id="settings-main">
        {body}
      </main>
    </div>
  );
}

function Page({ title, intro, actions, children }: { title: string; intro?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <div class="page">
      <header class="page-head">
        <div>
          <h2>{title}</h2>
          {intro && <p class="muted">{intro}</p>}
        </div>
        {actions && <div class="page-actions">{actions}</div>}
      </header>
      {children}
    </div>
  );
}

function Card({ title, intro, children, id }: { title?: string; intro?: ComponentChildren; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" id={id} aria-labelledby={title && id ? id + '-t' : undefined}>
      {title && <h3 id={id ? id + '-t' : undefined}>{title}</h3>}
      {intro && <p class="muted card-intro">{intro}</p>}
      {children}
    </section>
  );
}

/** Loads a list once and offers a reload. */
function useList<T>(path: string, key: string): [T[] | null, string, () => void] {
  const [list, setList] = useState<T[] | null>(null);
  const [error, setError] = useState('');
  const load = () => {
    api<unknown>('GET', path).then(
      (r) => {
        let got: T[] = [];
        for (const k of key.split('|')) {
          got = items<T>(r, k);
          if (got.length) break;
        }
        setList(got);
        setError('');
      },
      (e) => setError(errorText(e)),
    );
  };
  useEffect(load, [path]);
  return [list, error, load];
}

function Loading({ error, retry }: { error: string; retry?: () => void }) {
  if (error)
    return (
      <p class="form-error" role="alert">
        {error}{' '}
        {retry && (
          <button type="button" class="link" onClick={retry}>
            Try again
          </button>
        )}
      </p>
    );
  return <p class="muted">Loading&hellip;</p>;
}

// ---- profile & alerts ----

const PREFS: { key: keyof Preferences; label: string; hint: string }[] = [
  { key: 'notify_queue', label: 'New conversation in the queue', hint: 'A visitor starts a chat and nobody has it yet.' },
  { key: 'notify_mine', label: 'New message in my conversations', hint: 'A visitor writes in a conversation assigned to you.' },
  { key: 'notify_mention', label: 'Someone mentions me', hint: 'Another agent @mentions you in a private note.' },
  { key: 'sound', label: 'Play a sound', hint: 'A short chime, also when the tab is in the background.' },
  { key: 'desktop', label: 'Desktop notifications', hint: 'Shown by your browser when the console is not in front.' },
];

function timezones(current?: string): string[] {
  const list = zoneList();
  if (current && !list.includes(current)) return [current, ...list];
  return list;
}

function zoneList(): string[] {
  const f = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf;
  try {
    if (f) return ['UTC', ...f('timeZone').filter((z) => z !== 'UTC')];
  } catch {
    /* old browser */
  }
  return ['UTC', 'Europe/London', 'Europe/Berlin', 'America/New_York', 'America/Chicago', 'America/Los_Angeles', 'Asia/Tokyo', 'Australia/Sydney'];
}

function Profile(p: Props) {
  const prefs = prefsOf(p.me.preferences);
  const [name, setName] = useState(p.me.name);
  const [tz, setTz] = useState(p.me.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  const [perm, setPerm] = useState(notificationPermission());
  const [saving, setSaving] = useState(false);
  const save = async (patch: Partial<Agent>, msg = 'Saved') => {
    setSaving(true);
    try {
      await p.onSavePrefs(patch);
      toast(msg, 'ok');
    } catch (e) {
      toast(errorText(e), 'error');
    } finally {
      setSaving(false);
    }
  };
  return (
    <Page title="Profile & alerts" intro="How you appear to your team, and what gets your attention.">
      <Card title="Profile" id="profile-card">
        <form
          class="form-grid narrow-form"
          onSubmit={(e) => {
            e.preventDefault();
            void save({ name: name.trim(), timezone: tz });
          }}
        >
          <div class="profile-row">
            <Avatar name={name || p.me.email} id={p.me.id} size={48} />
            <div>
              <p class="strong">{p.me.email}</p>
              <p class="muted small">{p.me.role === 'admin' ? 'Administrator' : 'Agent'}</p>
            </div>
          </div>
          <Field id="profile-name" label="Display name" hint="Visitors see this name next to your replies.">
            <input id="profile-name" value={name} maxLength={100} required onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <Field id="profile-tz" label="Your timezone">
            <select id="profile-tz" value={tz} onChange={(e) => setTz(e.currentTarget.value)}>
              {timezones(tz).map((z) => (
                <option key={z} value={z}>
                  {z}
                </option>
              ))}
            </select>
          </Field>
          <div class="form-actions">
            <button type="submit" class="btn primary" id="profile-save" disabled={saving || !name.trim()}>
              Save profile
            </button>
          </div>
        </form>
      </Card>
      <Card title="Alerts" id="alerts-card" intro="Each alert is a sound and a desktop notification, as switched below. They work while the console tab is in the background.">
        <div class="switches">
          {PREFS.map((x) => (
            <Switch
              key={x.key}
              id={'pref-' + x.key}
              label={x.label}
              hint={x.hint}
              checked={prefs[x.key]}
              onChange={(v) => void save({ preferences: { ...prefs, [x.key]: v } }, v ? 'Turned on' : 'Turned off')}
            />
          ))}
        </div>
        <div class="callout">
          <Icon name="bell" />
          <div>
            {perm === 'granted' && <p>Desktop notifications are allowed in this browser.</p>}
            {perm === 'denied' && <p>This browser blocks notifications from the console. Allow them in the site settings of your browser.</p>}
            {perm === 'default' && <p>Your browser has not been asked yet whether the console may show notifications.</p>}
            {perm === 'unsupported' && <p>This browser cannot show desktop notifications.</p>}
          </div>
          <div class="callout-actions">
            {perm === 'default' && (
              <button type="button" class="btn small" id="ask-permission" onClick={() => void askNotificationPermission().then(setPerm)}>
                Allow notifications
              </button>
            )}
            <button
              type="button"
              class="btn small"
              id="test-sound"
              onClick={() => {
                unlockAudio();
                window.setTimeout(() => chime('queue'), 50);
              }}
            >
              Play test sound
            </button>
          </div>
        </div>
      </Card>
    </Page>
  );
}

// ---- sites ----

function snippet(site: Site): string {
  const origin = location.origin;
  return (
    '<script>window.Switchboard=window.Switchboard||function(){(Switchboard.q=Switchboard.q||[]).push(arguments)};</script>\n' +
    `<script src="${origin}/widget.js" data-site="${site.public_key}" async></script>`
  );
}

function Sites() {
  const [sites, error, reload] = useList<Site>('/sites', 'sites');
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await api<unknown>('POST', '/sites', { name: name.trim(), allowed_origins: [], settings: { color: '#2563eb', position: 'right' } });
      const s = unwrap<Site>(r, 'site');
      setCreating(false);
      setName('');
      reload();
      if (s) location.hash = '#/settings/sites/' + s.id;
    } catch (err) {
      toast(errorText(err), 'error');
    }
  };
  return (
    <Page
      title="Sites & widget"
      intro="Each site is one widget install with its own look, hours and rules."
      actions={
        <button type="button" class="btn primary" id="site-new" onClick={() => setCreating(true)}>
          <Icon name="plus" size={14} /> New site
        </button>
      }
    >
      {!sites ? (
        <Loading error={error} retry={reload} />
      ) : sites.length === 0 ? (
        <Empty icon="globe" title="No sites yet">
          Create one to get the install snippet.
        </Empty>
      ) : (
        <ul class="site-cards">
          {sites.map((s) => (
            <li key={s.id}>
              <a href={'#/settings/sites/' + s.id} class="site-card" data-testid="site-card">
                <span class="site-swatch" style={{ background: validColor(s.settings && s.settings.color) }} aria-hidden="true">
                  <Icon name="message" size={16} />
                </span>
                <span class="site-card-text">
                  <span class="strong">{s.name}</span>
                  <span class="muted small">
                    {(s.allowed_origins || []).length ? (s.allowed_origins || []).join(', ') : 'Any origin'} &middot; key {s.public_key}
                  </span>
                </span>
                <span class="chips">
                  {s.identity_required && <span class="chip">Verified identities only</span>}
                  {s.settings && s.settings.typing_preview && <span class="chip">Typing preview</span>}
                </span>
                <Icon name="chevron" />
              </a>
            </li>
          ))}
        </ul>
      )}
      {creating && (
        <Dialog
          title="New site"
          onClose={() => setCreating(false)}
          footer={
            <>
              <button type="button" class="btn ghost" onClick={() => setCreating(false)}>
                Cancel
              </button>
              <button type="submit" form="site-new-form" class="btn primary" disabled={!name.trim()}>
                Create site
              </button>
            </>
          }
        >
          <form id="site-new-form" onSubmit={create} class="stack">
            <Field id="site-new-name" label="Name" hint="For you and your team, e.g. the shop's domain.">
              <input id="site-new-name" value={name} required maxLength={100} onInput={(e) => setName(e.currentTarget.value)} />
            </Field>
          </form>
        </Dialog>
      )}
    </Page>
  );
}

function validColor(c?: string): string {
  return c && /^#[0-9a-fA-F]{6}$/.test(c) ? c : '#2563eb';
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const SITE_SECTIONS = [
  ['appearance', 'Appearance'],
  ['install', 'Install'],
  ['security', 'Security'],
  ['hours', 'Hours'],
  ['prechat', 'Pre-chat form'],
  ['proactive', 'Greetings'],
  ['behaviour', 'Behaviour'],
];

function SiteEditor({ id }: { id: number }) {
  const [site, setSite] = useState<Site | null>(null);
  const [draft, setDraft] = useState<Site | null>(null);
  const [origins, setOrigins] = useState('');
  const [error, setError] = useState('');
  const [saving, setSaving] = useState(false);
  const [showSecret, setShowSecret] = useState(false);
  const [confirmRotate, setConfirmRotate] = useState(false);

  const load = () =>
    api<unknown>('GET', '/sites/' + id).then(
      (r) => {
        const s = unwrap<Site>(r, 'site');
        if (!s) throw new Error('Unexpected response');
        s.settings = s.settings || {};
        setSite(s);
        setDraft(JSON.parse(JSON.stringify(s)) as Site);
        setOrigins((s.allowed_origins || []).join('\n'));
      },
      (e) => setError(errorText(e)),
    );
  useEffect(() => {
    void load();
  }, [id]);

  if (!site || !draft) {
    return (
      <Page title="Site">
        <Loading error={error} />
      </Page>
    );
  }
  const st = draft.settings;
  const set = (patch: Partial<SiteSettings>) => setDraft({ ...draft, settings: { ...st, ...patch } });
  const originList = origins
    .split(/[\s,]+/)
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  const dirty =
    JSON.stringify({ ...draft, allowed_origins: originList, identity_secret: undefined }) !==
    JSON.stringify({ ...site, allowed_origins: site.allowed_origins || [], identity_secret: undefined });
  const badOrigins = originList.filter((o) => !/^https?:\/\/[^/\s]+$/.test(o));

  const save = async () => {
    if (badOrigins.length) {
      toast('Origins look like https://shop.example.com: ' + badOrigins.join(', '), 'error');
      return;
    }
    setSaving(true);
    try {
      const r = await api<unknown>('PATCH', '/sites/' + id, {
        name: draft.name,
        allowed_origins: originList,
        identity_required: draft.identity_required,
        settings: draft.settings,
      });
      const s = unwrap<Site>(r, 'site');
      if (s) {
        s.settings = s.settings || {};
        setSite(s);
        setDraft(JSON.parse(JSON.stringify(s)) as Site);
        setOrigins((s.allowed_origins || []).join('\n'));
      } else await load();
      toast('Site saved', 'ok');
    } catch (e) {
      toast(errorText(e), 'error');
    } finally {
      setSaving(false);
    }
  };

  const rotate = async () => {
    try {
      const r = await api<{ identity_secret?: string }>('POST', `/sites/${id}/rotate-secret`, {});
      const sec = (r && r.identity_secret) || '';
      setSite({ ...site, identity_secret: sec });
      setDraft({ ...draft, identity_secret: sec });
      setShowSecret(true);
      setConfirmRotate(false);
      toast('New secret created. Update your server before visitors identify again.', 'ok');
    } catch (e) {
      toast(errorText(e), 'error');
    }
  };

  const hours = st.business_hours || [];
  const dayHours = (d: number) => hours.find((h) => h.day === d);
  const setDay = (d: number, h: BusinessHours | null) => {
    const rest = hours.filter((x) => x.day !== d);
    set({ business_hours: (h ? [...rest, h] : rest).sort((a, b) => a.day - b.day) });
  };
  const fields = st.prechat_fields || [];
  const setField = (i: number, f: PreChatField | null) => {
    const next = fields.slice();
    if (f) next[i] = f;
    else next.splice(i, 1);
    set({ prechat_fields: next });
  };
  const rules = st.proactive || [];
  const setRule = (i: number, r: ProactiveRule | null) => {
    const next = rules.slice();
    if (r) next[i] = r;
    else next.splice(i, 1);
    set({ proactive: next });
  };

  return (
    <div class="page site-page">
      <header class="page-head">
        <div>
          <a href="#/settings/sites" class="crumb">
            <Icon name="left" size={14} /> Sites
          </a>
          <h2>{site.name}</h2>
          <p class="muted">Public key {site.public_key}</p>
        </div>
      </header>
      <nav class="jump" aria-label="Sections of this site">
        {SITE_SECTIONS.map(([k, label]) => (
          <a key={k} href={'#/settings/sites/' + id} onClick={(e) => {
            e.preventDefault();
            const el = document.getElementById('site-' + k);
            if (el) el.scrollIntoView({ behavior: 'smooth', block: 'start' });
          }}>
            {label}
          </a>
        ))}
      </nav>
      <div class="site-layout">
        <div class="site-forms">
          <Card title="Appearance" id="site-appearance">
            <div class="form-grid two">
              <Field id="site-name" label="Site name">
                <input id="site-name" value={draft.name} maxLength={100} onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })} />
              </Field>
              <Field id="site-color" label="Brand colour">
                <span class="color-input">
                  <input
                    type="color"
                    id="site-color"
                    value={validColor(st.color)}
                    onInput={(e) => set({ color: e.currentTarget.value })}
                  />
                  <input
                    aria-label="Brand colour as hex"
                    value={st.color || ''}
                    placeholder="#2563eb"
                    maxLength={7}
                    onInput={(e) => set({ color: e.currentTarget.value })}
                  />
                </span>
              </Field>
              <fieldset class="field">
                <legend>Position</legend>
                <div class="segmented">
                  {['left', 'right'].map((pos) => (
                    <label key={pos} class={(st.position || 'right') === pos ? 'on' : ''}>
                      <input type="radio" name="site-position" value={pos} checked={(st.position || 'right') === pos} onChange={() => set({ position: pos })} />
                      {pos === 'left' ? 'Bottom left' : 'Bottom right'}
                    </label>
                  ))}
                </div>
              </fieldset>
              <Field id="site-locale" label="Widget language" hint="A language tag such as en, de or fr-CA.">
                <input id="site-locale" value={st.locale || ''} placeholder="en" maxLength={35} onInput={(e) => set({ locale: e.currentTarget.value })} />
              </Field>
              <Field id="site-greeting" label="Greeting" hint="The first thing visitors read when they open the chat." class="span2">
                <textarea id="site-greeting" rows={2} maxLength={500} value={st.greeting || ''} onInput={(e) => set({ greeting: e.currentTarget.value })} />
              </Field>
            </div>
          </Card>

          <Card title="Install" id="site-install" intro="Paste these two lines before the closing </body> tag of every page that should show the chat.">
            <pre class="snippet" id="install-snippet">
              {snippet(site)}
            </pre>
            <button
              type="button"
              class="btn small"
              id="copy-snippet"
              onClick={() => void copyText(snippet(site)).then((ok) => toast(ok ? 'Snippet copied' : 'Copy failed: select the text instead', ok ? 'ok' : 'error'))}
            >
              <Icon name="copy" size={14} /> Copy snippet
            </button>
          </Card>

          <Card title="Security" id="site-security">
            <Field
              id="site-origins"
              label="Allowed origins"
              hint="One per line, like https://shop.example.com. The widget connects only from these; leave empty to allow any."
            >
              <textarea
                id="site-origins"
                rows={3}
                value={origins}
                aria-invalid={badOrigins.length > 0}
                aria-describedby="site-origins-hint"
                onInput={(e) => setOrigins(e.currentTarget.value)}
                spellcheck={false}
              />
            </Field>
            {badOrigins.length > 0 && <p class="form-error">Not an origin: {badOrigins.join(', ')}</p>}
            <div class="field">
              <span class="label" id="secret-label">
                Identity verification secret
              </span>
              <div class="secret-row">
                <code class="secret" aria-labelledby="secret-label" data-testid="identity-secret">
                  {site.identity_secret ? (showSecret ? site.identity_secret : '\u2022'.repeat(24)) : 'Not set yet: rotate to create one'}
                </code>
                {site.identity_secret && (
                  <>
                    <button type="button" class="btn small" id="secret-show" onClick={() => setShowSecret(!showSecret)}>
                      {showSecret ? 'Hide' : 'Show'}
                    </button>
                    <button
                      type="button"
                      class="btn small"
                      onClick={() => void copyText(site.identity_secret || '').then((ok) => toast(ok ? 'Secret copied' : 'Copy failed', ok ? 'ok' : 'error'))}
                    >
                      Copy
                    </button>
                  </>
                )}
                <button type="button" class="btn small danger" id="secret-rotate" onClick={() => setConfirmRotate(true)}>
                  Rotate
                </button>
              </div>
              <p class="hint">
                Your server signs the visitor's user id with it: hex HMAC-SHA256(secret, id), passed to <code>identify</code>.
              </p>
            </div>
            <Switch
              id="site-identity-required"
              label="Require verified identities"
              hint="Refuse identify calls without a valid hash. Anonymous visitors can still chat."
              checked={draft.identity_required}
              onChange={(v) => setDraft({ ...draft, identity_required: v })}
            />
          </Card>

          <Card title="Business hours" id="site-hours" intro="Outside these hours the widget shows the offline message and takes messages for later.">
            <Field id="site-tz" label="Timezone">
              <select id="site-tz" value={st.timezone || 'UTC'} onChange={(e) => set({ timezone: e.currentTarget.value })}>
                {timezones(st.timezone || 'UTC').map((z) => (
                  <option key={z} value={z}>
                    {z}
                  </option>
                ))}
              </select>
            </Field>
            <table class="hours">
              <caption class="sr-only">Opening hours per weekday</caption>
              <tbody>
                {[1, 2, 3, 4, 5, 6, 0].map((d) => {
                  const h = dayHours(d);
                  return (
                    <tr key={d}>
                      <th scope="row">
                        <label class="check">
                          <input
                            type="checkbox"
                            checked={!!h}
                            onChange={(e) => setDay(d, e.currentTarget.checked ? { day: d, open: '09:00', close: '17:00' } : null)}
                          />
                          {DAYS[d]}
                        </label>
                      </th>
                      <td>
                        {h ? (
                          <span class="time-range">
                            <input type="time" aria-label={DAYS[d] + ' opens'} value={h.open} onInput={(e) => setDay(d, { ...h, open: e.currentTarget.value })} />
                            <span aria-hidden="true">&ndash;</span>
                            <input type="time" aria-label={DAYS[d] + ' closes'} value={h.close} onInput={(e) => setDay(d, { ...h, close: e.currentTarget.value })} />
                          </span>
                        ) : (
                          <span class="muted">Closed</span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {hours.length === 0 && <p class="hint">No hours set: the chat counts as open whenever an agent is online.</p>}
            <Field id="site-offline" label="Offline message">
              <textarea
                id="site-offline"
                rows={2}
                maxLength={1000}
                value={st.offline_message || ''}
                placeholder="We're away right now. Leave a message and we'll reply by email."
                onInput={(e) => set({ offline_message: e.currentTarget.value })}
              />
            </Field>
          </Card>

          <Card title="Pre-chat form" id="site-prechat" intro="Ask for a few details before the first message.">
            {fields.length === 0 && <p class="muted small">No fields: visitors can write straight away.</p>}
            {fields.map((f, i) => (
              <div class="repeat-row" key={i}>
                <Field id={`pf-label-${i}`} label="Label">
                  <input id={`pf-label-${i}`} value={f.label} onInput={(e) => setField(i, { ...f, label: e.currentTarget.value })} />
                </Field>
                <Field id={`pf-name-${i}`} label="Key">
                  <input
                    id={`pf-name-${i}`}
                    value={f.name}
                    onInput={(e) => setField(i, { ...f, name: e.currentTarget.value.replace(/[^a-z0-9_]/gi, '_').toLowerCase() })}
                  />
                </Field>
                <Field id={`pf-type-${i}`} label="Type">
                  <select id={`pf-type-${i}`} value={f.type} onChange={(e) => setField(i, { ...f, type: e.currentTarget.value })}>
                    <option value="text">Text</option>
                    <option value="email">Email</option>
                    <option value="select">Choice</option>
                  </select>
                </Field>
                {f.type === 'select' && (
                  <Field id={`pf-opts-${i}`} label="Choices (comma separated)">
                    <input
                      id={`pf-opts-${i}`}
                      value={(f.options || []).join(', ')}
                      onInput={(e) => setField(i, { ...f, options: e.currentTarget.value.split(',').map((x) => x.trim()).filter(Boolean) })}
                    />
                  </Field>
                )}
                <label class="check">
                  <input type="checkbox" checked={f.required} onChange={(e) => setField(i, { ...f, required: e.currentTarget.checked })} />
                  Required
                </label>
                <button type="button" class="icon-btn" aria-label={'Remove field ' + (f.label || i + 1)} onClick={() => setField(i, null)}>
                  <Icon name="trash" />
                </button>
              </div>
            ))}
            <button
              type="button"
              class="btn small"
              onClick={() => set({ prechat_fields: [...fields, { name: fields.length ? 'field_' + (fields.length + 1) : 'name', label: fields.length ? '' : 'Your name', type: 'text', required: false }] })}
            >
              <Icon name="plus" size={14} /> Add field
            </button>
          </Card>

          <Card title="Proactive greetings" id="site-proactive" intro="Greet visitors on matching pages after a delay. Patterns use * as a wildcard.">
            {rules.length === 0 && <p class="muted small">No greetings.</p>}
            {rules.map((r, i) => (
              <div class="repeat-row" key={i}>
                <Field id={`pr-url-${i}`} label="Page URL pattern">
                  <input id={`pr-url-${i}`} value={r.url_pattern} placeholder="*/pricing*" onInput={(e) => setRule(i, { ...r, url_pattern: e.currentTarget.value })} />
                </Field>
                <Field id={`pr-delay-${i}`} label="After (seconds)">
                  <input
                    id={`pr-delay-${i}`}
                    type="number"
                    min={0}
                    max={3600}
                    value={r.delay_seconds}
                    onInput={(e) => setRule(i, { ...r, delay_seconds: Math.max(0, Number(e.currentTarget.value) || 0) })}
                  />
                </Field>
                <Field id={`pr-msg-${i}`} label="Message" class="grow">
                  <input id={`pr-msg-${i}`} value={r.message} onInput={(e) => setRule(i, { ...r, message: e.currentTarget.value })} />
                </Field>
                <button type="button" class="icon-btn" aria-label={'Remove greeting ' + (i + 1)} onClick={() => setRule(i, null)}>
                  <Icon name="trash" />
                </button>
              </div>
            ))}
            <button type="button" class="btn small" onClick={() => set({ proactive: [...rules, { url_pattern: '*', delay_seconds: 30, message: 'Hi! Anything we can help with?' }] })}>
              <Icon name="plus" size={14} /> Add greeting
            </button>
          </Card>

          <Card title="Behaviour" id="site-behaviour">
            <div class="switches">
              <Switch
                id="site-typing-preview"
                label="Live typing preview"
                hint="Agents see what visitors type before they send it. The widget tells visitors so."
                checked={!!st.typing_preview}
                onChange={(v) => set({ typing_preview: v })}
              />
              <Switch id="site-rating" label="Ask for a rating after close" checked={!!st.rating_enabled} onChange={(v) => set({ rating_enabled: v })} />
              <Switch
                id="site-rating-email"
                label="Email a rating request after close"
                hint="Visitors who left an email address and did not rate in the widget get one email, ten minutes after the conversation closes."
                checked={!!st.rating_email}
                onChange={(v) => set({ rating_email: v })}
              />
              <Switch
                id="site-transcript-close"
                label="Email the transcript when a conversation closes"
                hint="Sent to visitors who left an email address, in their language."
                checked={!!st.transcript_on_close}
                onChange={(v) => set({ transcript_on_close: v })}
              />
            </div>
            <Field id="site-auto-close" label="Close inactive conversations after (hours)" hint="0 never closes them. A system message tells the visitor.">
              <input
                id="site-auto-close"
                type="number"
                min={0}
                max={8760}
                step={1}
                value={st.auto_close_hours || 0}
                onInput={(e) => set({ auto_close_hours: Math.min(8760, Math.max(0, Math.round(Number(e.currentTarget.value) || 0))) })}
              />
            </Field>
            <Field
              id="site-first-response"
              label="First response within (minutes)"
              hint="An assigned conversation nobody answers in time goes back to the queue for the next agent. 0 uses the workspace's routing setting."
            >
              <input
                id="site-first-response"
                type="number"
                min={0}
                max={10080}
                step={1}
                value={st.first_response_seconds ? Math.round(st.first_response_seconds / 60) : 0}
                onInput={(e) => set({ first_response_seconds: Math.min(10080, Math.max(0, Math.round(Number(e.currentTarget.value) || 0))) * 60 })}
              />
            </Field>
            <Field id="site-upload" label="Largest attachment from visitors (MB)" hint="0 uses the server's limit.">
              <input
                id="site-upload"
                type="number"
                min={0}
                max={100}
                step={1}
                value={st.max_upload_bytes ? Math.round(st.max_upload_bytes / 1048576) : 0}
                onInput={(e) => set({ max_upload_bytes: Math.max(0, Math.round(Number(e.currentTarget.value) || 0)) * 1048576 })}
              />
            </Field>
          </Card>
        </div>
        <aside class="site-preview" aria-label="Widget preview">
          <WidgetPreview site={draft} />
        </aside>
      </div>
      <div class={'save-bar' + (dirty ? ' dirty' : '')}>
        <span>{dirty ? 'You have unsaved changes.' : 'All changes saved.'}</span>
        <button
          type="button"
          class="btn ghost"
          disabled={!dirty || saving}
          onClick={() => {
            setDraft(JSON.parse(JSON.stringify(site)) as Site);
            setOrigins((site.allowed_origins || []).join('\n'));
          }}
        >
          Discard
        </button>
        <button type="button" class="btn primary" id="site-save" disabled={!dirty || saving} onClick={() => void save()}>
          {saving ? 'Saving\u2026' : 'Save changes'}
        </button>
      </div>
      {confirmRotate && (
        <Dialog
          title="Rotate the identity secret?"
          onClose={() => setConfirmRotate(false)}
          footer={
            <>
              <button type="button" class="btn ghost" onClick={() => setConfirmRotate(false)}>
                Cancel
              </button>
              <button type="button" class="btn danger-solid" id="secret-rotate-confirm" onClick={() => void rotate()}>
                Rotate secret
              </button>
            </>
          }
        >
          <p>The old secret stops working at once. Visitors your server identifies with it are refused until you deploy the new one.</p>
        </Dialog>
      )}
    </div>
  );
}

/** A mock of the widget in the site's colours: updates as the form changes. */
function WidgetPreview({ site }: { site: Site }) {
  const st = site.settings;
  const color = validColor(st.color);
  const left = st.position === 'left';
  const fields = (st.prechat_fields || []).slice(0, 3);
  return (
    <div class="preview-frame" data-testid="widget-preview">
      <div class="preview-bar" aria-hidden="true">
        <i />
        <i />
        <i />
        <span>{(site.allowed_origins && site.allowed_origins[0]) || 'your-site.example'}</span>
      </div>
      <div class="preview-page">
        <div class="sk sk-title" />
        <div class="sk" />
        <div class="sk short" />
        <div class={'mock-widget' + (left ? ' left' : '')}>
          <div class="mock-head" style={{ background: color }}>
            <span class="mock-title">{site.name || 'Chat with us'}</span>
            <span class="mock-sub">We typically reply in a few minutes</span>
          </div>
          <div class="mock-body">
            <div class="mock-msg">{st.greeting || 'Hi! How can we help?'}</div>
            {fields.length > 0 && (
              <div class="mock-form">
                {fields.map((f, i) => (
                  <div key={i} class="mock-field">
                    {f.label || f.name}
                    {f.required ? ' *' : ''}
                  </div>
                ))}
              </div>
            )}
            {st.typing_preview && <p class="mock-note">Agents can see what you type before you send it.</p>}
          </div>
          <div class="mock-input">
            <span>Write a message&hellip;</span>
            <span class="mock-send" style={{ background: color }} />
          </div>
        </div>
        <div class={'mock-launcher' + (left ? ' left' : '')} style={{ background: color }}>
          <Icon name="message" size={20} />
        </div>
      </div>
      <p class="muted small center">Live preview. Save to publish.</p>
    </div>
  );
}

// ---- agents ----

function Agents(p: Props) {
  const [agents, error, reload] = useList<Agent>('/agents', 'agents');
  const [inviting, setInviting] = useState(false);
  const [invite, setInvite] = useState<{ url: string; email: string } | null>(null);
  const teams = p.refs.teams;
  const patch = async (a: Agent, body: Partial<Agent>) => {
    try {
      await api('PATCH', '/agents/' + a.id, body);
      reload();
      p.onRefsChanged();
      if (body.active === false) toast((a.name || a.email) + ' is deactivated and signed out everywhere.', 'ok');
    } catch (e) {
      toast(errorText(e), 'error');
      reload();
    }
  };
  return (
    <Page
      title="Agents"
      intro="Who answers chats, their role, teams and how many conversations they take at once."
      actions={
        <button type="button" class="btn primary" id="agent-invite" onClick={() => setInviting(true)}>
          <Icon name="plus" size={14} /> Invite agent
        </button>
      }
    >
      {!agents ? (
        <Loading error={error} retry={reload} />
      ) : (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Role</th>
                <th scope="col">Teams</th>
                <th scope="col">Capacity</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {agents.map((a) => {
                const self = a.id === p.me.id;
                const inactive = a.active === false;
                return (
                  <tr key={a.id} class={inactive ? 'inactive' : ''} data-testid="agent-row">
                    <td>
                      <span class="person">
                        <Avatar name={a.name || a.email} id={a.id} size={30} />
                        <span>
                          <span class="strong">{a.name || '\u2014'}</span>
                          {self && <span class="chip">you</span>}
                          <span class="muted small block">{a.email}</span>
                        </span>
                      </span>
                    </td>
                    <td>
                      <select
                        aria-label={'Role of ' + (a.name || a.email)}
                        value={a.role}
                        disabled={self || inactive}
                        onChange={(e) => void patch(a, { role: e.currentTarget.value })}
                      >
                        <option value="agent">Agent</option>
                        <option value="admin">Admin</option>
                      </select>
                    </td>
                    <td>
                      <TeamPicker agent={a} teams={teams} disabled={inactive} onChange={(ids) => void patch(a, { team_ids: ids })} />
                    </td>
                    <td>
                      <input
                        type="number"
                        class="narrow"
                        min={0}
                        max={100}
                        aria-label={'Capacity of ' + (a.name || a.email)}
                        value={a.capacity ?? 0}
                        disabled={inactive}
                        onChange={(e) => void patch(a, { capacity: Math.max(0, Number(e.currentTarget.value) || 0) })}
                      />
                    </td>
                    <td>
                      {inactive ? (
                        <span class="badge closed">Deactivated</span>
                      ) : (
                        <span class="status-cell">
                          <span class={'presence-dot ' + (a.status === 'online' ? 'on' : a.status === 'away' ? 'away' : '')} aria-hidden="true" />
                          {a.status}
                        </span>
                      )}
                    </td>
                    <td class="right">
                      {!self &&
                        (inactive ? (
                          <button type="button" class="btn small" onClick={() => void patch(a, { active: true })}>
                            Reactivate
                          </button>
                        ) : (
                          <button type="button" class="btn small danger" data-testid="deactivate" onClick={() => void patch(a, { active: false })}>
                            Deactivate
                          </button>
                        ))}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {inviting && (
        <InviteDialog
          teams={teams}
          onClose={() => setInviting(false)}
          onDone={(url, email) => {
            setInviting(false);
            setInvite({ url, email });
            reload();
            p.onRefsChanged();
          }}
        />
      )}
      {invite && (
        <Dialog title="Invitation created" onClose={() => setInvite(null)} id="invite-result">
          <p>
            Send this one-time link to <strong>{invite.email}</strong> if no email arrives. It lets them choose a password.
          </p>
          <div class="secret-row">
            <code class="secret wrap" data-testid="invite-url">
              {invite.url}
            </code>
            <button type="button" class="btn small" onClick={() => void copyText(invite.url).then((ok) => toast(ok ? 'Link copied' : 'Copy failed', ok ? 'ok' : 'error'))}>
              <Icon name="copy" size={14} /> Copy
            </button>
          </div>
        </Dialog>
      )}
    </Page>
  );
}

function TeamPicker({ agent, teams, disabled, onChange }: { agent: Agent; teams: Team[]; disabled?: boolean; onChange: (ids: number[]) => void }) {
  const ids = agent.team_ids || [];
  if (!teams.length) return <span class="muted small">No teams</span>;
  return (
    <details class="team-picker">
      <summary class={disabled ? 'disabled' : ''}>
        <span class="sr-only">{'Teams of ' + (agent.name || agent.email) + ': '}</span>
        {ids.length ? teams.filter((t) => ids.includes(t.id)).map((t) => t.name).join(', ') : 'None'}
      </summary>
      <div class="popover menu">
        {teams.map((t) => (
          <label key={t.id} class="check">
            <input
              type="checkbox"
              disabled={disabled}
              checked={ids.includes(t.id)}
              onChange={(e) => onChange(e.currentTarget.checked ? [...ids, t.id] : ids.filter((x) => x !== t.id))}
            />
            {t.name}
          </label>
        ))}
      </div>
    </details>
  );
}

function InviteDialog({ teams, onClose, onDone }: { teams: Team[]; onClose: () => void; onDone: (url: string, email: string) => void }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState('agent');
  const [capacity, setCapacity] = useState(5);
  const [teamIds, setTeamIds] = useState<number[]>([]);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const r = await api<{ invite_url?: string }>('POST', '/agents/invite', { email: email.trim(), name: name.trim(), role, team_ids: teamIds, capacity });
      let url = (r && r.invite_url) || '';
      if (url.startsWith('/')) url = location.origin + url;
      onDone(url, email.trim());
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <Dialog
      title="Invite an agent"
      onClose={onClose}
      id="invite-dialog"
      footer={
        <>
          <button type="button" class="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form="invite-form" class="btn primary" id="invite-submit" disabled={busy || !email.trim()}>
            {busy ? 'Inviting\u2026' : 'Send invitation'}
          </button>
        </>
      }
    >
      <form id="invite-form" class="stack" onSubmit={submit}>
        <Field id="invite-email" label="Email">
          <input id="invite-email" type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </Field>
        <Field id="invite-name" label="Name">
          <input id="invite-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <div class="grid2">
          <Field id="invite-role" label="Role">
            <select id="invite-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
              <option value="agent">Agent</option>
              <option value="admin">Admin</option>
            </select>
          </Field>
          <Field id="invite-capacity" label="Capacity" hint="Conversations at once">
            <input id="invite-capacity" type="number" min={0} max={100} value={capacity} onInput={(e) => setCapacity(Number(e.currentTarget.value) || 0)} />
          </Field>
        </div>
        {teams.length > 0 && (
          <fieldset class="field">
            <legend>Teams</legend>
            <div class="check-grid">
              {teams.map((t) => (
                <label key={t.id} class="check">
                  <input
                    type="checkbox"
                    checked={teamIds.includes(t.id)}
                    onChange={(e) => setTeamIds(e.currentTarget.checked ? [...teamIds, t.id] : teamIds.filter((x) => x !== t.id))}
                  />
                  {t.name}
                </label>
              ))}
            </div>
          </fieldset>
        )}
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </Dialog>
  );
}

// ---- teams ----

function Teams(p: Props) {
  const [teams, error, reload] = useList<Team>('/teams', 'teams');
  const [name, setName] = useState('');
  const [editing, setEditing] = useState<{ id: number; name: string } | null>(null);
  const run = async (f: () => Promise<unknown>) => {
    try {
      await f();
      reload();
      p.onRefsChanged();
    } catch (e) {
      toast(errorText(e), 'error');
    }
  };
  const agentNames = (ids?: number[] | null) =>
    (ids || [])
      .map((id) => p.refs.agents[id])
      .filter(Boolean)
      .map((a) => a.name || a.email);
  return (
    <Page title="Teams" intro="Group agents for routing and for the My teams view. Add people to teams on the Agents page.">
      <Card>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (name.trim()) void run(() => api('POST', '/teams', { name: name.trim() })).then(() => setName(''));
          }}
        >
          <label for="team-name" class="sr-only">
            New team name
          </label>
          <input id="team-name" placeholder="New team, e.g. Billing" value={name} maxLength={100} onInput={(e) => setName(e.currentTarget.value)} />
          <button type="submit" class="btn primary" id="team-create" disabled={!name.trim()}>
            Create team
          </button>
        </form>
      </Card>
      {!teams ? (
        <Loading error={error} retry={reload} />
      ) : teams.length === 0 ? (
        <Empty icon="users" title="No teams yet" />
      ) : (
        <ul class="rows">
          {teams.map((t) => {
            const members = agentNames(t.agent_ids);
            return (
              <li key={t.id} class="row-item" data-testid="team-row">
                {editing && editing.id === t.id ? (
                  <form
                    class="inline-form grow"
                    onSubmit={(e) => {
                      e.preventDefault();
                      void run(() => api('PATCH', '/teams/' + t.id, { name: editing.name.trim() })).then(() => setEditing(null));
                    }}
                  >
                    <label for={'team-edit-' + t.id} class="sr-only">
                      Team name
                    </label>
                    <input id={'team-edit-' + t.id} value={editing.name} onInput={(e) => setEditing({ id: t.id, name: e.currentTarget.value })} />
                    <button type="submit" class="btn small primary">
                      Save
                    </button>
                    <button type="button" class="btn small ghost" onClick={() => setEditing(null)}>
                      Cancel
                    </button>
                  </form>
                ) : (
                  <>
                    <span class="row-icon">
                      <Icon name="users" />
                    </span>
                    <span class="grow">
                      <span class="strong">{t.name}</span>
                      <span class="muted small block">
                        {members.length ? members.length + ' \u00b7 ' + members.join(', ') : 'No members yet'}
                      </span>
                    </span>
                    <button type="button" class="btn small ghost" onClick={() => setEditing({ id: t.id, name: t.name })}>
                      Rename
                    </button>
                    <button type="button" class="icon-btn" aria-label={'Delete team ' + t.name} onClick={() => void run(() => api('DELETE', '/teams/' + t.id))}>
                      <Icon name="trash" />
                    </button>
                  </>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </Page>
  );
}

// ---- canned responses ----

function CannedPage(p: Props) {
  const [list, error, reload] = useList<Canned>('/canned', 'canned');
  const [edit, setEdit] = useState<Partial<Canned> | null>(null);
  const [err, setErr] = useState('');
  const save = async (e: Event) => {
    e.preventDefault();
    if (!edit) return;
    setErr('');
    try {
      const body = { shortcut: (edit.shortcut || '').trim(), title: (edit.title || '').trim(), body: edit.body || '' };
      if (edit.id) await api('PATCH', '/canned/' + edit.id, body);
      else await api('POST', '/canned', body);
      setEdit(null);
      reload();
      p.onRefsChanged();
    } catch (x) {
      setErr(errorText(x));
    }
  };
  const validShortcut = /^[a-z0-9_-]{1,32}$/.test(edit && edit.shortcut ? edit.shortcut : '');
  return (
    <Page
      title="Canned responses"
      intro={
        <>
          Agents insert these by typing <code>/shortcut</code> in the composer. <code>{'{{visitor.first_name}}'}</code> and{' '}
          <code>{'{{agent.name}}'}</code> are filled in.
        </>
      }
      actions={
        <button type="button" class="btn primary" id="canned-new" onClick={() => setEdit({ shortcut: '', title: '', body: '' })}>
          <Icon name="plus" size={14} /> New response
        </button>
      }
    >
      {!list ? (
        <Loading error={error} retry={reload} />
      ) : list.length === 0 ? (
        <Empty icon="zap" title="No canned responses yet">
          Save the answers you type every day.
        </Empty>
      ) : (
        <ul class="rows">
          {list.map((c) => (
            <li key={c.id} class="row-item" data-testid="canned-row">
              <code class="shortcut">/{c.shortcut}</code>
              <span class="grow">
                <span class="strong">{c.title}</span>
                <span class="muted small block clamp">{c.body}</span>
              </span>
              <button type="button" class="btn small ghost" onClick={() => setEdit({ ...c })}>
                Edit
              </button>
              <button
                type="button"
                class="icon-btn"
                aria-label={'Delete /' + c.shortcut}
                onClick={() =>
                  void api('DELETE', '/canned/' + c.id).then(
                    () => {
                      reload();
                      p.onRefsChanged();
                    },
                    (e) => toast(errorText(e), 'error'),
                  )
                }
              >
                <Icon name="trash" />
              </button>
            </li>
          ))}
        </ul>
      )}
      {edit && (
        <Dialog
          title={edit.id ? 'Edit canned response' : 'New canned response'}
          onClose={() => setEdit(null)}
          wide
          footer={
            <>
              <button type="button" class="btn ghost" onClick={() => setEdit(null)}>
                Cancel
              </button>
              <button type="submit" form="canned-form" class="btn primary" id="canned-save" disabled={!validShortcut || !(edit.body || '').trim()}>
                Save
              </button>
            </>
          }
        >
          <form id="canned-form" class="stack" onSubmit={save}>
            <div class="grid2">
              <Field id="canned-shortcut" label="Shortcut" hint="Lower-case letters, digits, - and _.">
                <span class="prefix-input">
                  <span aria-hidden="true">/</span>
                  <input
                    id="canned-shortcut"
                    value={edit.shortcut}
                    maxLength={32}
                    aria-invalid={!!edit.shortcut && !validShortcut}
                    onInput={(e) => setEdit({ ...edit, shortcut: e.currentTarget.value.toLowerCase() })}
                  />
                </span>
              </Field>
              <Field id="canned-title" label="Title">
                <input id="canned-title" value={edit.title} maxLength={100} onInput={(e) => setEdit({ ...edit, title: e.currentTarget.value })} />
              </Field>
            </div>
            <Field id="canned-body" label="Text">
              <textarea id="canned-body" rows={6} value={edit.body} onInput={(e) => setEdit({ ...edit, body: e.currentTarget.value })} />
            </Field>
            {err && (
              <p class="form-error" role="alert">
                {err}
              </p>
            )}
          </form>
        </Dialog>
      )}
    </Page>
  );
}

// ---- labels ----

const LABEL_COLORS = ['#2563eb', '#16a34a', '#d97706', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];

function Labels(p: Props) {
  const [list, error, reload] = useList<Label>('/labels', 'labels');
  const [name, setName] = useState('');
  const [color, setColor] = useState(LABEL_COLORS[0]);
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      await api('POST', '/labels', { name: name.trim().toLowerCase(), color });
      setName('');
      reload();
      p.onRefsChanged();
    } catch (x) {
      toast(errorText(x), 'error');
    }
  };
  return (
    <Page title="Labels" intro="Tag conversations to find and report on them. Agents can also add new labels from a conversation.">
      <Card>
        <form class="inline-form" onSubmit={create}>
          <label for="label-name" class="sr-only">
            New label
          </label>
          <input id="label-name" placeholder="New label, e.g. refund" value={name} maxLength={40} onInput={(e) => setName(e.currentTarget.value)} />
          <div class="swatches" role="radiogroup" aria-label="Colour">
            {LABEL_COLORS.map((c) => (
              <button
                key={c}
                type="button"
                role="radio"
                aria-checked={c === color}
                aria-label={'Colour ' + c}
                class={'swatch-btn' + (c === color ? ' on' : '')}
                style={{ background: c }}
                onClick={() => setColor(c)}
              />
            ))}
          </div>
          <button type="submit" class="btn primary" id="label-create" disabled={!name.trim()}>
            Add label
          </button>
        </form>
      </Card>
      {!list ? (
        <Loading error={error} retry={reload} />
      ) : list.length === 0 ? (
        <Empty icon="tag" title="No labels yet" />
      ) : (
        <ul class="label-cloud">
          {list.map((l) => (
            <li key={l.id} class="label-pill" data-testid="label-row">
              <span class="swatch" style={{ background: validColor(l.color) }} aria-hidden="true" />
              {l.name}
              <button
                type="button"
                class="icon-btn tiny"
                aria-label={'Delete label ' + l.name}
                onClick={() =>
                  void api('DELETE', '/labels/' + l.id).then(
                    () => {
                      reload();
                      p.onRefsChanged();
                    },
                    (e) => toast(errorText(e), 'error'),
                  )
                }
              >
                <Icon name="x" size={12} />
              </button>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}

// ---- API tokens ----

function Tokens() {
  const [list, error, reload] = useList<ApiToken>('/tokens', 'tokens');
  const [name, setName] = useState('');
  const [fresh, setFresh] = useState<string>('');
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await api<{ token?: string }>('POST', '/tokens', { name: name.trim() });
      setFresh((r && r.token) || '');
      setName('');
      reload();
    } catch (x) {
      toast(errorText(x), 'error');
    }
  };
  return (
    <Page title="API tokens" intro="Scripts authenticate with Authorization: Bearer sbk_\u2026 and act as you.">
      <Card>
        <form class="inline-form" onSubmit={create}>
          <label for="token-name" class="sr-only">
            Token name
          </label>
          <input id="token-name" placeholder="What it is for, e.g. CRM sync" value={name} maxLength={100} onInput={(e) => setName(e.currentTarget.value)} />
          <button type="submit" class="btn primary" id="token-create" disabled={!name.trim()}>
            Create token
          </button>
        </form>
        {fresh && (
          <div class="callout warn" role="status">
            <Icon name="key" />
            <div class="grow">
              <p class="strong">Copy the token now: it is shown only once.</p>
              <div class="secret-row">
                <code class="secret wrap" data-testid="new-token">
                  {fresh}
                </code>
                <button type="button" class="btn small" onClick={() => void copyText(fresh).then((ok) => toast(ok ? 'Token copied' : 'Copy failed', ok ? 'ok' : 'error'))}>
                  <Icon name="copy" size={14} /> Copy
                </button>
              </div>
            </div>
            <button type="button" class="icon-btn" aria-label="Dismiss" onClick={() => setFresh('')}>
              <Icon name="x" />
            </button>
          </div>
        )}
      </Card>
      {!list ? (
        <Loading error={error} retry={reload} />
      ) : list.length === 0 ? (
        <Empty icon="key" title="No tokens" />
      ) : (
        <ul class="rows">
          {list.map((t) => (
            <li key={t.id} class="row-item" data-testid="token-row">
              <span class="row-icon">
                <Icon name="key" />
              </span>
              <span class="grow">
                <span class="strong">{t.name}</span>
                <span class="muted small block">
                  Created {longTime(t.created_at)} &middot; {t.last_used_at ? 'last used ' + shortTime(t.last_used_at) : 'never used'}
                </span>
              </span>
              <button
                type="button"
                class="btn small danger"
                onClick={() => void api('DELETE', '/tokens/' + t.id).then(reload, (e) => toast(errorText(e), 'error'))}
              >
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}

// ---- workspace ----

interface AuditRow {
  id: number;
  actor_type: string;
  actor_id: number;
  action: string;
  target: string;
  created_at: string;
}

function WorkspacePage() {
  const [ws, setWs] = useState<Workspace | null>(null);
  const [error, setError] = useState('');
  const [name, setName] = useState('');
  const [keep, setKeep] = useState<'forever' | 'days'>('forever');
  const [days, setDays] = useState(365);
  const [audit, auditError] = useList<AuditRow>('/audit?limit=20', 'entries|audit|items');
  useEffect(() => {
    api<unknown>('GET', '/workspace').then(
      (r) => {
        const w = unwrap<Workspace>(r, 'workspace');
        if (!w) return;
        setWs(w);
        setName(w.name);
        setKeep(w.retention_days ? 'days' : 'forever');
        setDays(w.retention_days || 365);
      },
      (e) => setError(errorText(e)),
    );
  }, []);
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await api<unknown>('PATCH', '/workspace', { name: name.trim(), retention_days: keep === 'forever' ? 0 : days });
      const w = unwrap<Workspace>(r, 'workspace');
      if (w) setWs(w);
      toast('Workspace saved', 'ok');
    } catch (x) {
      toast(errorText(x), 'error');
    }
  };
  const badDays = keep === 'days' && (days < 7 || days > 3650);
  return (
    <Page title="Workspace" intro="Settings that apply to everyone here.">
      {!ws ? (
        <Loading error={error} />
      ) : (
        <Card title="General and data retention" id="workspace-card">
          <form class="form-grid" onSubmit={save}>
            <Field id="ws-name" label="Workspace name">
              <input id="ws-name" value={name} maxLength={100} onInput={(e) => setName(e.currentTarget.value)} />
            </Field>
            <fieldset class="field">
              <legend>Keep conversations</legend>
              <label class="check">
                <input type="radio" name="retention" checked={keep === 'forever'} onChange={() => setKeep('forever')} />
                Forever
              </label>
              <label class="check">
                <input type="radio" name="retention" checked={keep === 'days'} onChange={() => setKeep('days')} />
                Delete closed conversations after
                <input
                  type="number"
                  class="narrow"
                  aria-label="Days to keep closed conversations"
                  min={7}
                  max={3650}
                  value={days}
                  disabled={keep !== 'days'}
                  aria-invalid={badDays}
                  onInput={(e) => setDays(Number(e.currentTarget.value) || 0)}
                />
                days
              </label>
              {badDays && <p class="form-error">Between 7 and 3650 days.</p>}
              <p class="hint">Messages, attachments and transcripts go with them. Audit entries stay.</p>
            </fieldset>
            <div class="form-actions">
              <button type="submit" class="btn primary" id="ws-save" disabled={badDays || !name.trim()}>
                Save
              </button>
            </div>
          </form>
        </Card>
      )}
      <Card title="Recent activity" id="audit-card">
        {!audit ? (
          auditError ? (
            <p class="muted small">The audit log is not available.</p>
          ) : (
            <p class="muted">Loading&hellip;</p>
          )
        ) : audit.length === 0 ? (
          <p class="muted small">Nothing yet.</p>
        ) : (
          <ul class="audit">
            {audit.map((a) => (
              <li key={a.id}>
                <code>{a.action}</code>
                <span>{a.target}</span>
                <span class="muted small">
                  {a.actor_type} #{a.actor_id} &middot; {shortTime(a.created_at)}
                </span>
              </li>
            ))}
          </ul>
        )}
      </Card>
    </Page>
  );
}

// ---- webhooks ----

function codeClass(c: number): string {
  return c >= 200 && c < 300 ? 'code-ok' : 'code-bad';
}

function Deliveries({ hook }: { hook: Webhook }) {
  const [list, error, reload] = useList<WebhookDelivery>('/webhooks/' + hook.id + '/deliveries', 'deliveries');
  if (!list) return <Loading error={error} retry={reload} />;
  if (list.length === 0) return <p class="muted small">No deliveries yet.</p>;
  return (
    <table class="deliveries" data-testid="delivery-table">
      <caption class="sr-only">Deliveries to {hook.url}</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Event</th>
          <th scope="col">Attempt</th>
          <th scope="col">Response</th>
          <th scope="col">Time</th>
        </tr>
      </thead>
      <tbody>
        {list.map((d) => (
          <tr key={d.id} data-testid="delivery-row">
            <td>{shortTime(d.created_at)}</td>
            <td>
              <code>{d.topic}</code>
            </td>
            <td>{d.attempt}</td>
            <td>
              <span class={codeClass(d.status_code)}>{d.status_code || '\u2014'}</span>
              {d.error && <span class="muted small block">{d.error}</span>}
            </td>
            <td>{d.duration_ms} ms</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function WebhooksPage() {
  const [hooks, setHooks] = useState<Webhook[] | null>(null);
  const [topics, setTopics] = useState<string[]>([]);
  const [error, setError] = useState('');
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [fresh, setFresh] = useState('');
  const [shown, setShown] = useState(0);
  const load = () => {
    api<{ webhooks?: Webhook[]; topics?: string[] }>('GET', '/webhooks').then(
      (r) => {
        setHooks((r && r.webhooks) || []);
        setTopics((r && r.topics) || []);
        setError('');
      },
      (e) => setError(errorText(e)),
    );
  };
  useEffect(load, []);
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const h = await api<Webhook>('POST', '/webhooks', { url: url.trim(), events });
      setFresh((h && h.secret) || '');
      setUrl('');
      setEvents([]);
      load();
    } catch (x) {
      toast(errorText(x), 'error');
    }
  };
  return (
    <Page title="Webhooks" intro="Switchboard POSTs signed JSON to these URLs when things happen (see docs/webhooks.md to verify the signature).">
      <Card title="Add an endpoint" id="webhook-add">
        <form class="form-grid" onSubmit={create}>
          <Field id="webhook-url" label="URL" hint="HTTPS, reachable from the internet.">
            <input id="webhook-url" type="url" placeholder="https://example.com/hooks/switchboard" value={url} maxLength={2000} onInput={(e) => setUrl(e.currentTarget.value)} />
          </Field>
          <fieldset class="field">
            <legend>Events (none ticked: all)</legend>
            <div class="check-grid">
              {topics.map((t) => (
                <label key={t} class="check">
                  <input
                    type="checkbox"
                    data-topic={t}
                    checked={events.includes(t)}
                    onChange={(e) => setEvents(e.currentTarget.checked ? [...events, t] : events.filter((x) => x !== t))}
                  />
                  <code>{t}</code>
                </label>
              ))}
            </div>
          </fieldset>
          <div class="form-actions">
            <button type="submit" class="btn primary" id="webhook-create" disabled={!url.trim()}>
              Add webhook
            </button>
          </div>
        </form>
        {fresh && (
          <div class="callout warn" role="status">
            <Icon name="key" />
            <div class="grow">
              <p class="strong">Signing secret: copy it now, it is shown only once.</p>
              <div class="secret-row">
                <code class="secret wrap" data-testid="webhook-secret">
                  {fresh}
                </code>
                <button type="button" class="btn small" id="webhook-secret-copy" onClick={() => void copyText(fresh).then((ok) => toast(ok ? 'Secret copied' : 'Copy failed', ok ? 'ok' : 'error'))}>
                  <Icon name="copy" size={14} /> Copy
                </button>
              </div>
            </div>
            <button type="button" class="icon-btn" aria-label="Dismiss" onClick={() => setFresh('')}>
              <Icon name="x" />
            </button>
          </div>
        )}
      </Card>
      {!hooks ? (
        <Loading error={error} retry={load} />
      ) : hooks.length === 0 ? (
        <Empty icon="link" title="No webhooks yet" />
      ) : (
        <ul class="rows" id="webhook-list">
          {hooks.map((h) => (
            <li key={h.id} class="row-item wrap-row" data-testid="webhook-row">
              <span class="row-icon">
                <Icon name="link" />
              </span>
              <span class="grow">
                <span class="strong wrap">{h.url}</span>
                <span class="muted small block">
                  {h.events && h.events.length ? h.events.join(', ') : 'All events'} &middot; {h.active ? 'active' : 'inactive'} &middot; added {shortTime(h.created_at)}
                </span>
              </span>
              <button type="button" class="btn small ghost" aria-expanded={shown === h.id} aria-controls={'deliveries-' + h.id} onClick={() => setShown(shown === h.id ? 0 : h.id)}>
                Deliveries
              </button>
              <button
                type="button"
                class="icon-btn"
                aria-label={'Delete webhook ' + h.url}
                onClick={() => {
                  if (confirm('Delete the webhook ' + h.url + '?')) void api('DELETE', '/webhooks/' + h.id).then(load, (e) => toast(errorText(e), 'error'));
                }}
              >
                <Icon name="trash" />
              </button>
              {shown === h.id && (
                <div class="row-detail" id={'deliveries-' + h.id}>
                  <Deliveries hook={h} />
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}

// ---- mailbox ----

function MailboxPage() {
  const [mails, error, reload] = useList<MailboxEntry>('/mailbox', 'mails');
  const [open, setOpen] = useState(-1);
  return (
    <Page
      title="Mailbox"
      intro="Emails Switchboard sent, or kept here when no SMTP server is configured."
      actions={
        <button type="button" class="btn" id="mailbox-refresh" onClick={reload}>
          <Icon name="refresh" size={14} /> Refresh
        </button>
      }
    >
      {!mails ? (
        <Loading error={error} retry={reload} />
      ) : mails.length === 0 ? (
        <Empty icon="mail" title="No emails yet" />
      ) : (
        <ul class="rows" id="mailbox-list">
          {mails.map((m, i) => (
            <li key={m.id || i} class="row-item wrap-row" data-testid="mail-row">
              <span class="row-icon">
                <Icon name="mail" />
              </span>
              <span class="grow">
                <span class="strong">{m.subject || '(no subject)'}</span>
                <span class="muted small block">
                  To {m.to} &middot; <span class={'badge ' + m.status}>{m.status}</span> &middot; {shortTime(m.created_at)}
                  {m.error ? ' \u00b7 ' + m.error : ''}
                </span>
              </span>
              <button type="button" class="btn small ghost" aria-expanded={open === i} aria-controls={'mail-text-' + i} onClick={() => setOpen(open === i ? -1 : i)}>
                {open === i ? 'Hide' : 'View'}
              </button>
              {open === i && (
                // Rendered as text: the email body is never parsed as HTML.
                <pre class="mail-text row-detail" id={'mail-text-' + i} data-testid="mail-text">
                  {m.text}
                </pre>
              )}
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}

// ---- routing ----

const POLICIES: { id: string; label: string }[] = [
  { id: 'round_robin', label: 'Round robin' },
  { id: 'least_busy', label: 'Least busy' },
];

function TeamRouting({ team }: { team: Team }) {
  const [policy, setPolicy] = useState(team.policy || '');
  const [auto, setAuto] = useState(!!team.auto_assign);
  const save = (np: string, na: boolean) => {
    const old = [policy, auto] as const;
    setPolicy(np);
    setAuto(na);
    api('PUT', '/teams/' + team.id + '/routing', { policy: np, auto_assign: na }).then(
      () => toast('Routing for ' + team.name + ' saved', 'ok'),
      (e) => {
        setPolicy(old[0]);
        setAuto(old[1]);
        toast(errorText(e), 'error');
      },
    );
  };
  return (
    <li class="row-item" data-testid="team-routing-row">
      <span class="row-icon">
        <Icon name="users" />
      </span>
      <span class="grow strong">{team.name}</span>
      <label for={'team-policy-' + team.id} class="sr-only">
        Policy for {team.name}
      </label>
      <select id={'team-policy-' + team.id} value={policy} onChange={(e) => save(e.currentTarget.value, auto)}>
        <option value="">Workspace default</option>
        {POLICIES.map((x) => (
          <option key={x.id} value={x.id}>
            {x.label}
          </option>
        ))}
      </select>
      <label class="check">
        <input type="checkbox" id={'team-auto-' + team.id} checked={auto} onChange={(e) => save(policy, e.currentTarget.checked)} />
        Auto-assign
      </label>
    </li>
  );
}

function RoutingPage(p: Props) {
  const [rs, setRs] = useState<RoutingSettings | null>(null);
  const [error, setError] = useState('');
  const [teams, teamsError, reloadTeams] = useList<Team>('/teams', 'teams');
  useEffect(() => {
    api<RoutingSettings>('GET', '/routing').then(
      (r) => setRs({ ...(r || {}), rules: (r && r.rules) || [] }),
      (e) => setError(errorText(e)),
    );
  }, []);
  const set = (patch: Partial<RoutingSettings>) => setRs({ ...(rs as RoutingSettings), ...patch });
  const rules = (rs && rs.rules) || [];
  const setRule = (i: number, patch: Partial<RoutingRule>) => set({ rules: rules.map((r, j) => (j === i ? { ...r, ...patch } : r)) });
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await api<RoutingSettings>('PUT', '/routing', { ...rs, rules: rules.filter((x) => x.team_id) });
      if (r && typeof r === 'object') setRs({ ...r, rules: r.rules || [] });
      toast('Routing saved', 'ok');
    } catch (x) {
      toast(errorText(x), 'error');
    }
  };
  const teamList = teams || [];
  return (
    <Page title="Routing" intro="How new conversations find an agent.">
      {!rs ? (
        <Loading error={error} />
      ) : (
        <Card title="Automatic assignment" id="routing-card">
          <form class="form-grid" onSubmit={save}>
            <Switch id="routing-enabled" label="Assign conversations automatically" checked={!rs.disabled} onChange={(v) => set({ disabled: !v })} />
            <Field id="routing-policy" label="Default policy">
              <select id="routing-policy" value={rs.policy || ''} onChange={(e) => set({ policy: e.currentTarget.value })}>
                <option value="">Default (round robin)</option>
                {POLICIES.map((x) => (
                  <option key={x.id} value={x.id}>
                    {x.label}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="routing-first-response" label="Back to the queue when unanswered after (seconds)" hint="0: never.">
              <input
                id="routing-first-response"
                type="number"
                min={0}
                value={rs.first_response_seconds || 0}
                onInput={(e) => set({ first_response_seconds: Math.max(0, Number(e.currentTarget.value) || 0) })}
              />
            </Field>
            <Field id="routing-grace" label="Offline grace (seconds)" hint="An agent gone longer than this loses their open conversations. Empty or 0: 120.">
              <input
                id="routing-grace"
                type="number"
                min={0}
                value={rs.offline_grace_seconds || 0}
                onInput={(e) => set({ offline_grace_seconds: Math.max(0, Number(e.currentTarget.value) || 0) })}
              />
            </Field>
            <fieldset class="field">
              <legend>Team rules (the first match wins)</legend>
              {rules.length === 0 && <p class="muted small">No rules: conversations go to the general queue.</p>}
              {rules.map((r, i) => (
                <div class="rule-row" key={i} data-testid="routing-rule">
                  <Field id={'rule-team-' + i} label="Team">
                    <select id={'rule-team-' + i} value={String(r.team_id || '')} onChange={(e) => setRule(i, { team_id: Number(e.currentTarget.value) })}>
                      <option value="">Choose&hellip;</option>
                      {teamList.map((t) => (
                        <option key={t.id} value={String(t.id)}>
                          {t.name}
                        </option>
                      ))}
                    </select>
                  </Field>
                  <Field id={'rule-site-' + i} label="Site">
                    <select id={'rule-site-' + i} value={String(r.site_id || '')} onChange={(e) => setRule(i, { site_id: Number(e.currentTarget.value) || 0 })}>
                      <option value="">Any</option>
                      {Object.values(p.refs.sites).map((s) => (
                        <option key={s.id} value={String(s.id)}>
                          {s.name}
                        </option>
                      ))}
                    </select>
                  </Field>
                  <Field id={'rule-url-' + i} label="Page URL (glob)">
                    <input id={'rule-url-' + i} placeholder="*/pricing*" value={r.url_pattern || ''} onInput={(e) => setRule(i, { url_pattern: e.currentTarget.value })} />
                  </Field>
                  <Field id={'rule-lang-' + i} label="Language">
                    <input id={'rule-lang-' + i} placeholder="fr" value={r.language || ''} maxLength={16} onInput={(e) => setRule(i, { language: e.currentTarget.value })} />
                  </Field>
                  <Field id={'rule-field-' + i} label="Field">
                    <input id={'rule-field-' + i} placeholder="plan" value={r.field || ''} onInput={(e) => setRule(i, { field: e.currentTarget.value })} />
                  </Field>
                  <Field id={'rule-value-' + i} label="Value">
                    <input id={'rule-value-' + i} placeholder="pro" value={r.value || ''} onInput={(e) => setRule(i, { value: e.currentTarget.value })} />
                  </Field>
                  <button type="button" class="icon-btn" aria-label={'Remove rule ' + (i + 1)} onClick={() => set({ rules: rules.filter((_, j) => j !== i) })}>
                    <Icon name="trash" />
                  </button>
                </div>
              ))}
              <button type="button" class="btn small" id="routing-add-rule" onClick={() => set({ rules: [...rules, { team_id: teamList.length ? teamList[0].id : 0 }] })}>
                <Icon name="plus" size={14} /> Add rule
              </button>
            </fieldset>
            <div class="form-actions">
              <button type="submit" class="btn primary" id="routing-save">
                Save routing
              </button>
            </div>
          </form>
        </Card>
      )}
      <Card title="Teams" id="team-routing-card" intro="Each team can override the policy. Without auto-assign, the team's queue is drained by hand.">
        {!teams ? (
          <Loading error={teamsError} retry={reloadTeams} />
        ) : teams.length === 0 ? (
          <p class="muted small">No teams yet.</p>
        ) : (
          <ul class="rows">
            {teams.map((t) => (
              <TeamRouting key={t.id} team={t} />
            ))}
          </ul>
        )}
      </Card>
      <BulkExport />
    </Page>
  );
}

function BulkExport() {
  const [status, setStatus] = useState('');
  const [json, setJson] = useState(true);
  const [csv, setCsv] = useState(true);
  const [pdfs, setPdfs] = useState(false);
  const x = useExport();
  const formats = [json && 'json', csv && 'csv'].filter(Boolean) as string[];
  return (
    <Card title="Bulk export" id="bulk-export" intro="A ZIP of every matching conversation and its messages.">
      <form
        class="bulk-export"
        onSubmit={(e) => {
          e.preventDefault();
          void x.start('/exports', { filter: status ? { status } : {}, formats, include_pdfs: pdfs });
        }}
      >
        <Field id="bulk-status" label="Conversations">
          <select id="bulk-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">All</option>
            <option value="open">Open</option>
            <option value="pending">Pending</option>
            <option value="snoozed">Snoozed</option>
            <option value="closed">Closed</option>
          </select>
        </Field>
        <fieldset class="field">
          <legend>Formats</legend>
          <label class="check">
            <input type="checkbox" id="bulk-json" checked={json} onChange={(e) => setJson(e.currentTarget.checked)} /> JSON
          </label>
          <label class="check">
            <input type="checkbox" id="bulk-csv" checked={csv} onChange={(e) => setCsv(e.currentTarget.checked)} /> CSV
          </label>
          <label class="check">
            <input type="checkbox" id="bulk-pdfs" checked={pdfs} onChange={(e) => setPdfs(e.currentTarget.checked)} /> A PDF transcript per conversation (slower)
          </label>
        </fieldset>
        <div class="form-actions">
          <button type="submit" class="btn primary" id="bulk-start" disabled={x.busy || formats.length === 0}>
            Start export
          </button>
        </div>
      </form>
      <ExportStatus job={x.job} error={x.error} busy={x.busy} idPrefix="bulk" />
    </Card>
  );
}
