-- Version 8: when an agent last changed their status. An agent who chose
-- "offline" but left the console open keeps a live connection; routing
-- takes their conversations back once they have been offline longer than
-- the grace period, counted from here.

-- +goose Up
ALTER TABLE agents ADD COLUMN status_since timestamptz;

-- +goose Down
ALTER TABLE agents DROP COLUMN status_since;
