package workers

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// QueueAlertStore is what queue alerts read.
type QueueAlertStore interface {
	ListWorkspaces(ctx context.Context) ([]*chat.Workspace, error)
	RoutingSettings(ctx context.Context, workspaceID int64) (chat.RoutingSettings, error)
	QueuedConversations(ctx context.Context, workspaceID int64, limit int) ([]*chat.Conversation, error)
	ListAgents(ctx context.Context, workspaceID int64) ([]*chat.Agent, error)
}

// QueueAlerts tells agents who want it about conversations waiting in the
// queue longer than the workspace's threshold: once per conversation and
// agent, through the same batched digest as other notices.
func (n *Notifier) QueueAlerts(ctx context.Context, store QueueAlertStore, now time.Time) error {
	all, err := store.ListWorkspaces(ctx)
	if err != nil {
		return err
	}
	for _, w := range all {
		rs, err := store.RoutingSettings(ctx, w.ID)
		if err != nil {
			return err
		}
		minutes := rs.QueueAlertMinutes
		if minutes == 0 {
			minutes = 5
		}
		if minutes < 0 {
			continue
		}
		queue, err := store.QueuedConversations(ctx, w.ID, 200)
		if err != nil {
			return err
		}
		var agents []*chat.Agent
		for _, c := range queue {
			if now.Sub(c.CreatedAt) < time.Duration(minutes)*time.Minute {
				break // oldest first: the rest waited less
			}
			if agents == nil {
				if agents, err = store.ListAgents(ctx, w.ID); err != nil {
					return err
				}
			}
			for _, a := range agents {
				if !a.Active || !a.Preferences.NotifyQueue || (c.TeamID != nil && !contains(a.TeamIDs, *c.TeamID)) {
					continue
				}
				conv, agentID := c, a.ID
				err := Once(ctx, n.Postman.Store, fmt.Sprintf("queue-alert:%d:%d", conv.ID, agentID), func() error {
					if err := n.Store.AddNotification(ctx, &chat.Notification{WorkspaceID: w.ID, RecipientType: chat.AuthorAgent,
						RecipientID: agentID, Kind: "queue_waiting", Payload: map[string]any{"conversation_id": conv.ID, "minutes": minutes}}); err != nil {
						return err
					}
					return n.scheduleDigest(ctx, w.ID, agentID)
				})
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func contains(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// scheduleDigest makes sure an agent's digest runs shortly (one per bucket).
func (n *Notifier) scheduleDigest(ctx context.Context, workspaceID, agentID int64) error {
	bucket := time.Now().Unix() / int64(digestDelay/time.Second)
	task := asynq.NewTask(TypeAgentDigest, []byte(fmt.Sprintf(`{"workspace_id":%d,"agent_id":%d}`, workspaceID, agentID)),
		asynq.TaskID(fmt.Sprintf("digest:%d:%d", agentID, bucket)), asynq.ProcessIn(digestDelay), asynq.MaxRetry(10))
	if _, err := n.Queue.EnqueueContext(ctx, task); err != nil && !isConflict(err) {
		return err
	}
	return nil
}
