-- Version 7: an index for the inbox, measured on 10,000 open conversations
-- (BenchmarkInbox in api/store; figures in docs/benchmarks.md).
--   * conversations_assignee_inbox serves the "Mine" list (status = 'open'
--     AND assignee_id = me) straight from the index, in list order, and
--     "Unassigned" (assignee_id IS NULL) when the queue is a small part of
--     the open conversations (at a fifth, the planner rightly keeps reading
--     conversations_status: ~300 rows for a page of 50). Before, "Mine"
--     walked conversations_status and discarded every other agent's rows:
--     ~2,300 rows for its first page of 50 in the generic plan that
--     prepared statements end up with.
--   * team_id comes last only so that the index holds every column the open
--     counts (ConversationCounts) need: on SQLite they never read the table.
-- Not partial on status = 'open': the store binds the status as a parameter,
-- and a generic plan cannot use an index whose predicate depends on one.
-- Built inside goose's transaction, so writes to conversations wait while it
-- builds: a fraction of a second per 100,000 conversations.

-- +goose Up
CREATE INDEX conversations_assignee_inbox ON conversations (workspace_id, status, assignee_id, last_message_at DESC, id DESC, team_id);

-- +goose Down
DROP INDEX conversations_assignee_inbox;
