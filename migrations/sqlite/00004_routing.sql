-- Version 4: automatic assignment.
--   * workspaces.routing: the workspace's routing settings (JSON: default
--     policy, team rules, first-response window, offline grace);
--   * teams choose their own policy and can turn automatic assignment off;
--   * agents.last_assigned_at drives round robin;
--   * conversations remember when they were assigned (first-response window)
--     and who had them before (a requeued conversation goes to someone else).

-- +goose Up
ALTER TABLE workspaces ADD COLUMN routing TEXT NOT NULL DEFAULT '{}';
ALTER TABLE teams ADD COLUMN policy TEXT NOT NULL DEFAULT '';
ALTER TABLE teams ADD COLUMN auto_assign BOOLEAN NOT NULL DEFAULT 1;
ALTER TABLE agents ADD COLUMN last_assigned_at DATETIME;
ALTER TABLE conversations ADD COLUMN assigned_at DATETIME;
ALTER TABLE conversations ADD COLUMN previous_assignee_id INTEGER;
-- The queue: open, unassigned conversations, oldest first.
CREATE INDEX conversations_queue ON conversations (workspace_id, created_at, id) WHERE assignee_id IS NULL AND status = 'open';
CREATE INDEX conversations_assignee_open ON conversations (assignee_id, status);

-- +goose Down
DROP INDEX conversations_assignee_open;
DROP INDEX conversations_queue;
ALTER TABLE conversations DROP COLUMN previous_assignee_id;
ALTER TABLE conversations DROP COLUMN assigned_at;
ALTER TABLE agents DROP COLUMN last_assigned_at;
ALTER TABLE teams DROP COLUMN auto_assign;
ALTER TABLE teams DROP COLUMN policy;
ALTER TABLE workspaces DROP COLUMN routing;
