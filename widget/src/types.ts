// JSON shapes from api/chat/types.go and docs/protocol.md, as far as the widget uses them.

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

/** A conversation as visitors see it (GET /widget/conversations, conversation.updated). */
export interface Conversation {
  id: number;
  status: 'open' | 'pending' | 'snoozed' | 'closed' | string;
  last_seq: number;
  rating?: number | null;
  assigned?: boolean;
  last_message_at?: string;
  created_at?: string;
  /** Optional: the agents' read marker, when the server sends it. */
  agent_read_seq?: number;
}

export interface PreChatField {
  name: string;
  label: string;
  type: 'text' | 'email' | 'select' | string;
  required?: boolean;
  options?: string[] | null;
}

export interface ProactiveRule {
  url_pattern?: string;
  delay_seconds?: number;
  message?: string;
}

export interface SiteSettings {
  color?: string;
  position?: string;
  greeting?: string;
  timezone?: string;
  prechat_fields?: PreChatField[] | null;
  offline_message?: string;
  typing_preview?: boolean;
  max_upload_bytes?: number;
  locale?: string;
  proactive?: ProactiveRule[] | null;
  rating_enabled?: boolean;
}

export interface Availability {
  online: boolean;
  agents_online?: number;
  within_hours?: boolean;
}

export interface Visitor {
  id: number;
  name?: string;
  email?: string;
  external_id?: string;
  verified?: boolean;
  attributes?: Record<string, string> | null;
  locale?: string;
}

export interface Session {
  token: string;
  visitor?: Visitor;
  site?: { name?: string; public_key?: string; settings?: SiteSettings | null };
  availability?: Availability | null;
  expires_at?: string;
}

/** A server -> client websocket frame. */
export interface Frame {
  type: string;
  id?: string;
  message?: Message;
  conversation?: Conversation;
  conversation_id?: number;
  after_seq?: number;
  position?: number; // queue frames
  estimated_wait_seconds?: number;
  author_type?: string;
  author_name?: string;
  reader_type?: string;
  seq?: number;
  typing?: boolean;
  code?: string;
  heartbeat_seconds?: number;
}
