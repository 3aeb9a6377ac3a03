-- Version 8: when an agent last changed their status (SQLite twin of
-- postgres/00008_agent_status_since.sql). An agent who chose "offline" but
-- left the console open keeps a live connection; routing takes their
-- conversations back once they have been offline longer than the grace
-- period, counted from here.

-- +goose Up
ALTER TABLE agents ADD COLUMN status_since DATETIME;

-- +goose Down
ALTER TABLE agents DROP COLUMN status_since;
