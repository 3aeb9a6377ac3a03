-- Version 5: background jobs you can trust.
--   * outbox.done_at: a handler finished the row's work. The relay re-enqueues
--     rows dispatched long ago but never done (Redis lost the task).
--   * job_effects: one row per side effect (an email to one person, one
--     webhook delivery), so a retried job never repeats one.
--   * mailbox: emails kept locally when no SMTP server is configured (and a
--     copy of every email sent), readable by admins in the console.
--   * webhooks and their delivery log.
--   * notifications: pending notices, batched into one email per recipient.

-- +goose Up
ALTER TABLE outbox ADD COLUMN done_at DATETIME;
CREATE INDEX outbox_undone ON outbox (dispatched_at) WHERE dispatched_at IS NOT NULL AND done_at IS NULL;

CREATE TABLE job_effects (
    key          TEXT        PRIMARY KEY,
    state        TEXT        NOT NULL,            -- pending | done
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL
);

CREATE TABLE mailbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER      NOT NULL,
    to_addr      TEXT        NOT NULL,
    subject      TEXT        NOT NULL,
    text_body    TEXT        NOT NULL,
    html_body    TEXT        NOT NULL DEFAULT '',
    status       TEXT        NOT NULL,            -- kept | sent | failed
    error        TEXT        NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL
);
CREATE INDEX mailbox_workspace ON mailbox (workspace_id, id);

CREATE TABLE webhooks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER      NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    url          TEXT        NOT NULL,
    secret       TEXT        NOT NULL,
    events       TEXT        NOT NULL DEFAULT '[]', -- topics; [] = all
    active       BOOLEAN     NOT NULL DEFAULT 1,
    created_at   DATETIME NOT NULL
);
CREATE INDEX webhooks_workspace ON webhooks (workspace_id);

CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id   INTEGER      NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id     INTEGER      NOT NULL,            -- the outbox row
    topic        TEXT        NOT NULL,
    attempt      INTEGER     NOT NULL,
    status_code  INTEGER     NOT NULL DEFAULT 0,
    error        TEXT        NOT NULL DEFAULT '',
    duration_ms  INTEGER     NOT NULL DEFAULT 0,
    created_at   DATETIME NOT NULL
);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);

CREATE TABLE notifications (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id   INTEGER      NOT NULL,
    recipient_type TEXT        NOT NULL,          -- agent | visitor
    recipient_id   INTEGER      NOT NULL,
    kind           TEXT        NOT NULL,          -- assigned | mention | queue_waiting | agent_reply | rating_request
    payload        TEXT        NOT NULL DEFAULT '{}',
    created_at     DATETIME NOT NULL,
    sent_at        DATETIME
);
CREATE INDEX notifications_pending ON notifications (recipient_type, recipient_id) WHERE sent_at IS NULL;

-- +goose Down
DROP TABLE notifications;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE mailbox;
DROP TABLE job_effects;
DROP INDEX outbox_undone;
ALTER TABLE outbox DROP COLUMN done_at;
