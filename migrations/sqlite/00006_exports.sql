-- Version 6: transcript exports (SQLite twin of postgres/00006_exports.sql).
--   * exports: one requested file, either one conversation rendered (pdf, html,
--     txt, json) or a bulk ZIP of every conversation matching a filter. A job
--     renders it into blob storage and moves it pending -> running -> ready
--     (or failed); the file is deleted at expires_at.
--   * export_links: download links of ready exports. Only the sha256 hex of
--     each link's random token is stored (like every other credential); a
--     link stops working at its expires_at, and never outlives the file.
--   * link_keys: server-wide random keys for signed links that must work
--     without a session or a stored token, such as the attachment links in a
--     visitor's transcript email. Created on first use, shared by every node
--     and worker through the database.

-- +goose Up
CREATE TABLE exports (
    id              INTEGER  PRIMARY KEY AUTOINCREMENT,
    workspace_id    INTEGER  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    agent_id        INTEGER  REFERENCES agents (id) ON DELETE SET NULL,        -- who asked
    kind            TEXT     NOT NULL,                                         -- conversation | bulk
    conversation_id INTEGER  REFERENCES conversations (id) ON DELETE SET NULL, -- conversation exports
    format          TEXT     NOT NULL,                                         -- pdf | html | txt | json | zip
    options         TEXT     NOT NULL DEFAULT '{}',                            -- chat.ExportOptions
    status          TEXT     NOT NULL DEFAULT 'pending',                       -- pending | running | ready | failed
    progress        INTEGER  NOT NULL DEFAULT 0,                               -- 0-100
    error           TEXT     NOT NULL DEFAULT '',
    file_name       TEXT     NOT NULL DEFAULT '',
    content_type    TEXT     NOT NULL DEFAULT '',
    size            INTEGER  NOT NULL DEFAULT 0,
    storage_key     TEXT     NOT NULL DEFAULT '',                              -- '' = no file (yet, or purged)
    expires_at      DATETIME,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    started_at      DATETIME,
    finished_at     DATETIME
);
CREATE INDEX exports_workspace ON exports (workspace_id, id);
CREATE INDEX exports_expiring ON exports (expires_at) WHERE storage_key <> '';

CREATE TABLE export_links (
    token_hash  TEXT     PRIMARY KEY,
    export_id   INTEGER  NOT NULL REFERENCES exports (id) ON DELETE CASCADE,
    expires_at  DATETIME NOT NULL,
    created_at  DATETIME NOT NULL
);
CREATE INDEX export_links_export ON export_links (export_id);
CREATE INDEX export_links_expires ON export_links (expires_at);

CREATE TABLE link_keys (
    name        TEXT     PRIMARY KEY,
    secret      TEXT     NOT NULL, -- hex of 32 random bytes
    created_at  DATETIME NOT NULL
);

-- +goose Down
DROP TABLE link_keys;
DROP TABLE export_links;
DROP TABLE exports;
