// JSON shapes from api/chat/types.go, docs/protocol.md and docs/console-api.md,
// as far as the console uses them.

export interface Preferences {
  notify_queue: boolean;
  notify_mine: boolean;
  notify_mention: boolean;
  sound: boolean;
  desktop: boolean;
}

export interface Agent {
  id: number;
  workspace_id: number;
  email: string;
  name: string;
  role: string;
  status: string;
  capacity?: number;
  active?: boolean;
  team_ids?: number[] | null;
  timezone?: string;
  preferences?: Partial<Preferences> | null;
}

export interface Visitor {
  id: number;
  site_id?: number;
  external_id?: string;
  verified: boolean;
  name?: string;
  email?: string;
  attributes?: Record<string, string> | null;
  last_page?: string;
  user_agent?: string;
  locale?: string;
  last_seen_at?: string;
  created_at?: string;
}

export interface Conversation {
  id: number;
  workspace_id: number;
  site_id: number;
  visitor_id: number;
  status: 'open' | 'pending' | 'snoozed' | 'closed' | string;
  assignee_id: number | null;
  team_id: number | null;
  priority: string;
  labels: string[] | null;
  last_seq: number;
  last_message_at: string;
  first_response_at?: string | null;
  resolved_at?: string | null;
  snoozed_until?: string | null;
  rating?: number | null;
  rating_comment?: string;
  created_at: string;
  updated_at: string;
  // Not in chat.Conversation: list items embed a visitor summary.
  visitor?: Visitor;
  last_message?: Message;
}

export interface AttachmentRef {
  id: number;
  name: string;
  content_type: string;
  size: number;
}

export interface Message {
  id: number;
  conversation_id: number;
  seq: number;
  client_id?: string;
  author_type: 'visitor' | 'agent' | 'system' | 'bot' | string;
  author_id?: number;
  author_name?: string;
  kind: 'text' | 'note' | 'attachment' | 'event' | string;
  body: string;
  attachments?: AttachmentRef[] | null;
  created_at: string;
}

export interface ReadMarker {
  conversation_id: number;
  reader_type: string;
  reader_id: number;
  seq: number;
  updated_at?: string;
}

export interface PageView {
  url: string;
  title?: string;
  at?: string;
}

export interface Team {
  id: number;
  name: string;
  policy?: string;
  auto_assign?: boolean;
  agent_ids?: number[] | null;
}

export interface Label {
  id: number;
  name: string;
  color?: string;
}

export interface Canned {
  id: number;
  shortcut: string;
  title: string;
  body: string;
}

export interface BusinessHours {
  day: number;
  open: string;
  close: string;
}

export interface PreChatField {
  name: string;
  label: string;
  type: string;
  required: boolean;
  options?: string[] | null;
}

export interface ProactiveRule {
  url_pattern: string;
  delay_seconds: number;
  message: string;
}

export interface SiteSettings {
  color?: string;
  position?: string;
  greeting?: string;
  timezone?: string;
  business_hours?: BusinessHours[] | null;
  prechat_fields?: PreChatField[] | null;
  offline_message?: string;
  typing_preview?: boolean;
  max_upload_bytes?: number;
  locale?: string;
  proactive?: ProactiveRule[] | null;
  rating_enabled?: boolean;
  rating_email?: boolean;
  transcript_on_close?: boolean;
  auto_close_hours?: number;
  first_response_seconds?: number;
}

export interface Site {
  id: number;
  name: string;
  public_key: string;
  allowed_origins: string[] | null;
  identity_required: boolean;
  identity_secret?: string;
  settings: SiteSettings;
  created_at?: string;
}

export interface ApiToken {
  id: number;
  name: string;
  agent_id?: number;
  created_at: string;
  last_used_at?: string | null;
}

export interface Workspace {
  id: number;
  name: string;
  retention_days: number;
}

/** The list's query parameters, as saved filters store them. */
export interface Query {
  status?: string;
  assignee?: string;
  team?: string;
  site?: string;
  label?: string;
  priority?: string;
  from?: string;
  to?: string;
  q?: string;
}

export interface SavedFilter {
  id: number;
  name: string;
  query: Query;
}

export interface Counts {
  unassigned: number;
  mine: number;
  my_teams: number;
  all: number;
  closed: number;
  /** Saved filter id -> count; filters with a search term are left out. */
  filters?: Record<string, number> | null;
}

/** A server -> client websocket frame. */
export interface Frame {
  type: string;
  id?: string;
  agent?: Agent;
  agent_id?: number;
  status?: string;
  visitor_id?: number;
  online?: boolean;
  visitor?: Visitor;
  url?: string;
  title?: string;
  message?: Message;
  conversation?: Conversation;
  conversation_id?: number;
  after_seq?: number;
  author_type?: string;
  author_id?: number;
  author_name?: string;
  reader_type?: string;
  reader_id?: number;
  seq?: number;
  typing?: boolean;
  preview?: string;
  by?: Agent | number | string;
  code?: string;
  heartbeat_seconds?: number;
}

export type View = 'unassigned' | 'mine' | 'my_teams' | 'all' | 'closed';

/** GET /exports/{id} (docs/exports.md). */
export interface ExportJob {
  id: number;
  kind?: string;
  format?: string;
  status: 'pending' | 'running' | 'ready' | 'failed' | string;
  progress?: number;
  error?: string;
  file_name?: string;
  size?: number;
  expires_at?: string;
  expired?: boolean;
  download_url?: string;
  download_expires_at?: string;
}

export interface Webhook {
  id: number;
  url: string;
  secret?: string;
  events: string[] | null;
  active: boolean;
  created_at: string;
}

export interface WebhookDelivery {
  id: number;
  topic: string;
  attempt: number;
  status_code: number;
  error?: string;
  duration_ms: number;
  created_at: string;
}

export interface MailboxEntry {
  id: number;
  to: string;
  subject: string;
  text: string;
  status: string;
  error?: string;
  created_at: string;
}

export interface RoutingRule {
  team_id: number;
  site_id?: number;
  url_pattern?: string;
  language?: string;
  field?: string;
  value?: string;
}

export interface RoutingSettings {
  disabled?: boolean;
  policy?: string;
  first_response_seconds?: number;
  offline_grace_seconds?: number;
  queue_alert_minutes?: number;
  rules?: RoutingRule[] | null;
}
