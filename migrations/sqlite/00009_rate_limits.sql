-- Version 9: rate limits shared by every node (SQLite twin of
-- postgres/00009_rate_limits.sql).
--   * rate_events: one row per counted event (a failed login for an email,
--     a transcript an agent emailed), so every serve node sees the same
--     count and a restart forgets nothing. A limit counts one bucket and
--     key since the start of its window (rate_events_key); housekeeping
--     deletes events older than any window (rate_events_at).

-- +goose Up
CREATE TABLE rate_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket  TEXT        NOT NULL,                 -- login | transcript_email
    key     TEXT        NOT NULL,                 -- lower-cased email, agent id ...
    at      DATETIME    NOT NULL
);
CREATE INDEX rate_events_key ON rate_events (bucket, key, at);
CREATE INDEX rate_events_at ON rate_events (at);

-- +goose Down
DROP TABLE rate_events;
