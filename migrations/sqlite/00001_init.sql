-- Switchboard schema, version 1 (SQLite).
--
-- The twin of migrations/postgres/00001_init.sql: same tables, same columns,
-- same indexes (minus the jsonb GIN index). Type mapping:
--   * ids are INTEGER PRIMARY KEY AUTOINCREMENT, so an id is never reused
--     after a delete (the outbox relay and message cursors rely on that);
--   * times are DATETIME: the driver writes them as text and parses columns
--     declared DATETIME back into time.Time. The store always writes UTC, so
--     text order is time order;
--   * JSON documents are TEXT (read with json_each where needed);
--   * booleans are BOOLEAN (stored as 0/1).
-- Enum-like columns are plain text validated by the store: adding a value
-- must not need a table rebuild, which is what changing a CHECK costs here.

-- +goose Up

-- A workspace is a tenant; everything else belongs to exactly one.
CREATE TABLE workspaces (
    id             INTEGER  PRIMARY KEY AUTOINCREMENT,
    name           TEXT     NOT NULL,
    retention_days INTEGER  NOT NULL DEFAULT 0, -- 0 keeps transcripts forever
    created_at     DATETIME NOT NULL
);

-- A site is one widget install; the widget finds it by its public key.
CREATE TABLE sites (
    id                INTEGER  PRIMARY KEY AUTOINCREMENT,
    workspace_id      INTEGER  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name              TEXT     NOT NULL DEFAULT '',
    public_key        TEXT     NOT NULL UNIQUE,
    allowed_origins   TEXT     NOT NULL DEFAULT '[]',
    identity_secret   TEXT     NOT NULL DEFAULT '', -- HMAC key for identify(); never sent to browsers
    identity_required BOOLEAN  NOT NULL DEFAULT 0,
    settings          TEXT     NOT NULL DEFAULT '{}',
    created_at        DATETIME NOT NULL
);
CREATE INDEX sites_workspace ON sites (workspace_id, id);

-- Agents log in by email, which is unique across all workspaces regardless of case.
CREATE TABLE agents (
    id            INTEGER  PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email         TEXT     NOT NULL,
    name          TEXT     NOT NULL DEFAULT '',
    role          TEXT     NOT NULL DEFAULT 'agent',   -- admin | agent
    status        TEXT     NOT NULL DEFAULT 'offline', -- online | away | offline
    capacity      INTEGER  NOT NULL DEFAULT 0,         -- concurrent conversations for routing
    active        BOOLEAN  NOT NULL DEFAULT 1,         -- inactive agents cannot authenticate
    password_hash TEXT     NOT NULL DEFAULT '',
    created_at    DATETIME NOT NULL
);
CREATE UNIQUE INDEX agents_email ON agents (lower(email));
CREATE INDEX agents_workspace ON agents (workspace_id, id);

CREATE TABLE teams (
    id           INTEGER  PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT     NOT NULL,
    created_at   DATETIME NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE team_members (
    team_id    INTEGER  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    agent_id   INTEGER  NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (team_id, agent_id)
);
CREATE INDEX team_members_agent ON team_members (agent_id);

-- Credentials: only sha256 hashes of the secrets are stored.
CREATE TABLE agent_sessions (
    id         INTEGER  PRIMARY KEY AUTOINCREMENT,
    agent_id   INTEGER  NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    token_hash TEXT     NOT NULL UNIQUE,
    csrf_token TEXT     NOT NULL,
    expires_at DATETIME NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX agent_sessions_agent ON agent_sessions (agent_id);
CREATE INDEX agent_sessions_expires ON agent_sessions (expires_at); -- for purging

CREATE TABLE api_tokens (
    id           INTEGER  PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    agent_id     INTEGER  NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    name         TEXT     NOT NULL DEFAULT '',
    token_hash   TEXT     NOT NULL UNIQUE,
    created_at   DATETIME NOT NULL,
    last_used_at DATETIME
);
CREATE INDEX api_tokens_agent ON api_tokens (agent_id);

-- One-time links for invitations and password resets.
CREATE TABLE set_password_tokens (
    id         INTEGER  PRIMARY KEY AUTOINCREMENT,
    agent_id   INTEGER  NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    token_hash TEXT     NOT NULL UNIQUE,
    expires_at DATETIME NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX set_password_tokens_agent ON set_password_tokens (agent_id);

-- A visitor is a person on one site, anonymous or identified (external_id).
CREATE TABLE visitors (
    id           INTEGER  PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    site_id      INTEGER  NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    external_id  TEXT     NOT NULL DEFAULT '',
    verified     BOOLEAN  NOT NULL DEFAULT 0,
    name         TEXT     NOT NULL DEFAULT '',
    email        TEXT     NOT NULL DEFAULT '',
    attributes   TEXT     NOT NULL DEFAULT '{}',
    last_page    TEXT     NOT NULL DEFAULT '',
    user_agent   TEXT     NOT NULL DEFAULT '',
    locale       TEXT     NOT NULL DEFAULT '',
    last_seen_at DATETIME NOT NULL,
    created_at   DATETIME NOT NULL
);
CREATE INDEX visitors_workspace ON visitors (workspace_id, id);
-- Not unique: the same person may identify from several browsers.
CREATE INDEX visitors_external ON visitors (site_id, external_id) WHERE external_id <> '';

CREATE TABLE visitor_sessions (
    id         INTEGER  PRIMARY KEY AUTOINCREMENT,
    visitor_id INTEGER  NOT NULL REFERENCES visitors (id) ON DELETE CASCADE,
    site_id    INTEGER  NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    token_hash TEXT     NOT NULL UNIQUE,
    expires_at DATETIME NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX visitor_sessions_visitor ON visitor_sessions (visitor_id);
CREATE INDEX visitor_sessions_expires ON visitor_sessions (expires_at);

-- A conversation. last_seq is the seq of its newest message: CreateMessage
-- bumps it with UPDATE ... RETURNING under a row lock, which is what keeps
-- message seqs gap-free and strictly increasing.
CREATE TABLE conversations (
    id                INTEGER  PRIMARY KEY AUTOINCREMENT,
    workspace_id      INTEGER  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    site_id           INTEGER  NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    visitor_id        INTEGER  NOT NULL REFERENCES visitors (id) ON DELETE CASCADE,
    client_id         TEXT     NOT NULL DEFAULT '', -- the widget's idempotency key
    status            TEXT     NOT NULL DEFAULT 'open', -- open | pending | snoozed | closed
    assignee_id       INTEGER  REFERENCES agents (id) ON DELETE SET NULL,
    team_id           INTEGER  REFERENCES teams (id) ON DELETE SET NULL,
    priority          TEXT     NOT NULL DEFAULT 'normal',
    labels            TEXT     NOT NULL DEFAULT '[]',
    last_seq          INTEGER  NOT NULL DEFAULT 0,
    last_message_at   DATETIME NOT NULL,
    first_response_at DATETIME ,
    resolved_at       DATETIME ,
    snoozed_until     DATETIME ,
    created_at        DATETIME NOT NULL,
    updated_at        DATETIME NOT NULL
);
CREATE UNIQUE INDEX conversations_client_id ON conversations (visitor_id, client_id) WHERE client_id <> '';
-- The inbox is paged newest activity first with a (last_message_at, id) cursor;
-- these serve it unfiltered and with the common filters.
CREATE INDEX conversations_inbox ON conversations (workspace_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_status ON conversations (workspace_id, status, last_message_at DESC, id DESC);
CREATE INDEX conversations_assignee ON conversations (assignee_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_team ON conversations (team_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_visitor ON conversations (visitor_id, last_message_at DESC, id DESC);

CREATE TABLE messages (
    id              INTEGER  PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER  NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             INTEGER  NOT NULL,
    client_id       TEXT     NOT NULL DEFAULT '', -- the sender's idempotency key
    author_type     TEXT     NOT NULL,            -- visitor | agent | system | bot
    author_id       INTEGER  NOT NULL DEFAULT 0,
    author_name     TEXT     NOT NULL DEFAULT '',
    kind            TEXT     NOT NULL,            -- TEXT | note | attachment | event
    body            TEXT     NOT NULL DEFAULT '',
    attachments     TEXT     NOT NULL DEFAULT '[]', -- copies of the attachment refs
    created_at      DATETIME NOT NULL,
    UNIQUE (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_client_id ON messages (conversation_id, client_id) WHERE client_id <> '';

-- Uploaded files; the bytes live in blob storage under storage_key.
-- message_id is set once the attachment is sent in a message.
CREATE TABLE attachments (
    id              INTEGER  PRIMARY KEY AUTOINCREMENT,
    workspace_id    INTEGER  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    conversation_id INTEGER  NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      INTEGER  REFERENCES messages (id) ON DELETE SET NULL,
    name            TEXT     NOT NULL DEFAULT '',
    content_type    TEXT     NOT NULL DEFAULT '',
    size            INTEGER  NOT NULL DEFAULT 0,
    storage_key     TEXT     NOT NULL UNIQUE,
    uploader_type   TEXT     NOT NULL DEFAULT '',
    uploader_id     INTEGER  NOT NULL DEFAULT 0,
    created_at      DATETIME NOT NULL
);
CREATE INDEX attachments_conversation ON attachments (conversation_id);
CREATE INDEX attachments_message ON attachments (message_id);

-- The last seq each reader has seen; only ever moves forward.
CREATE TABLE read_markers (
    conversation_id INTEGER  NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    reader_type     TEXT     NOT NULL, -- visitor | agent
    reader_id       INTEGER  NOT NULL,
    seq             INTEGER  NOT NULL,
    updated_at      DATETIME NOT NULL,
    PRIMARY KEY (conversation_id, reader_type, reader_id)
);

-- Work caused by a committed change, written in the same transaction. No
-- foreign key on workspace_id: pending work must survive its workspace.
CREATE TABLE outbox (
    id            INTEGER  PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER  NOT NULL,
    topic         TEXT     NOT NULL,
    payload       TEXT     NOT NULL,
    created_at    DATETIME NOT NULL,
    dispatched_at DATETIME
);
-- The relay only ever reads undispatched rows, oldest first.
CREATE INDEX outbox_pending ON outbox (id) WHERE dispatched_at IS NULL;

CREATE TABLE audit_log (
    id           INTEGER  PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    actor_type   TEXT     NOT NULL DEFAULT '',
    actor_id     INTEGER  NOT NULL DEFAULT 0,
    action       TEXT     NOT NULL,
    target       TEXT     NOT NULL DEFAULT '',
    data         TEXT,
    created_at   DATETIME NOT NULL
);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, id DESC);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE outbox;
DROP TABLE read_markers;
DROP TABLE attachments;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE visitor_sessions;
DROP TABLE visitors;
DROP TABLE set_password_tokens;
DROP TABLE api_tokens;
DROP TABLE agent_sessions;
DROP TABLE team_members;
DROP TABLE teams;
DROP TABLE agents;
DROP TABLE sites;
DROP TABLE workspaces;
