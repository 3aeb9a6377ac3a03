-- Version 7: an index for the inbox (SQLite twin of postgres/00007_inbox.sql),
-- measured on 10,000 open conversations (BenchmarkInbox in api/store;
-- figures in docs/benchmarks.md).
--   * conversations_assignee_inbox serves the "Unassigned" (status = 'open'
--     AND assignee_id IS NULL) and "Mine" (status = 'open' AND assignee_id =
--     me) lists straight from the index, in list order. Before, both walked
--     conversations_status and discarded every other agent's rows.
--   * team_id comes last only so that the index holds every column the open
--     counts (ConversationCounts) need: they never read the table.

-- +goose Up
CREATE INDEX conversations_assignee_inbox ON conversations (workspace_id, status, assignee_id, last_message_at DESC, id DESC, team_id);

-- +goose Down
DROP INDEX conversations_assignee_inbox;
