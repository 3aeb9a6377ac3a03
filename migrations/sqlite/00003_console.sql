-- Version 3: what the agent console needs. Agents get a timezone and
-- notification preferences; agents save inbox filters; visitors get a page
-- history; the workspace gets canned responses and a label catalogue.
-- The twin of migrations/postgres/00003_console.sql (JSON as TEXT, times as DATETIME).

-- +goose Up

-- preferences: {notify_queue, notify_mine, notify_mention, sound, desktop};
-- a missing key means true, so '{}' is "everything on".
ALTER TABLE agents ADD COLUMN timezone TEXT NOT NULL DEFAULT '';   -- IANA name, '' = the browser's
ALTER TABLE agents ADD COLUMN preferences TEXT NOT NULL DEFAULT '{}';

-- An agent's saved inbox filter: query holds the list's query parameters.
CREATE TABLE saved_filters (
    id           INTEGER  PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    agent_id     INTEGER  NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    name         TEXT     NOT NULL,
    query        TEXT     NOT NULL DEFAULT '{}',
    created_at   DATETIME NOT NULL,
    UNIQUE (agent_id, name)
);

-- The pages a visitor was on, newest last; the store keeps the newest 100
-- per visitor.
CREATE TABLE page_views (
    id           INTEGER  PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    visitor_id   INTEGER  NOT NULL REFERENCES visitors (id) ON DELETE CASCADE,
    url          TEXT     NOT NULL,
    title        TEXT     NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL
);
CREATE INDEX page_views_visitor ON page_views (visitor_id, id DESC);

-- Canned responses, inserted in the composer by /shortcut.
CREATE TABLE canned_responses (
    id           INTEGER  PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    shortcut     TEXT     NOT NULL, -- [a-z0-9_-]{1,32}
    title        TEXT     NOT NULL DEFAULT '',
    body         TEXT     NOT NULL,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL,
    UNIQUE (workspace_id, shortcut)
);

-- The label catalogue. Conversations keep their labels as plain names, so
-- deleting a label here leaves conversations alone.
CREATE TABLE labels (
    id           INTEGER  PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT     NOT NULL,
    color        TEXT     NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL,
    UNIQUE (workspace_id, name)
);

-- +goose Down
DROP TABLE labels;
DROP TABLE canned_responses;
DROP TABLE page_views;
DROP TABLE saved_filters;
ALTER TABLE agents DROP COLUMN preferences;
ALTER TABLE agents DROP COLUMN timezone;
