package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

// Page tracking, setAttributes and identify change different fields of one
// visitor at the same moment; none of them may undo another's change.
func TestEditVisitorKeepsConcurrentChanges(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID
	v := &chat.Visitor{WorkspaceID: ws, SiteID: fx.Site.ID}
	must(t, db.CreateVisitor(ctx, v))

	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := db.EditVisitor(ctx, ws, v.ID, func(v *chat.Visitor) error {
				v.Attributes[fmt.Sprint("k", i)] = fmt.Sprint(i)
				return nil
			})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := db.EditVisitor(ctx, ws, v.ID, func(v *chat.Visitor) error {
				v.LastPage = fmt.Sprint("/page/", i)
				return nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	got, err := db.Visitor(ctx, ws, v.ID)
	must(t, err)
	if len(got.Attributes) != n || got.LastPage == "" {
		t.Fatalf("after %d concurrent edits of each kind: %d attributes, last page %q", n, len(got.Attributes), got.LastPage)
	}

	// An edit that fails saves nothing; a missing visitor is not found.
	_, err = db.EditVisitor(ctx, ws, v.ID, func(v *chat.Visitor) error {
		v.Name = "half-done"
		return chat.Errorf(chat.EINVALID, "no")
	})
	wantCode(t, err, chat.EINVALID)
	if got, _ := db.Visitor(ctx, ws, v.ID); got.Name != "" {
		t.Fatalf("a failed edit was saved: %q", got.Name)
	}
	_, err = db.EditVisitor(ctx, ws+999, v.ID, func(*chat.Visitor) error { return nil })
	wantCode(t, err, chat.ENOTFOUND)
}
