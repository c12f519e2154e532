package precall

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/internal/store"
)

// TestRetention: with a retention, results older than it are deleted
// once the server has its config; newer ones stay.
func TestRetention(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "results.db")
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	rep := []byte(`{"schema":"rtcprobe/v1","checks":[]}`)
	old := store.Result{ID: rand.Text(), Created: time.Now().Add(-48 * time.Hour), Verdict: "pass", Report: rep}
	fresh := store.Result{ID: rand.Text(), Created: time.Now().Add(-time.Hour), Verdict: "pass", Report: rep}
	for _, r := range []store.Result{old, fresh} {
		if err := st.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	_ = st.Close()
	f := startFixture(t, fixtureConfig{dsn: dsn, opt: Options{Retention: 24 * time.Hour}})
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		_, err := f.store.Get(ctx, old.ID)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("the result older than the retention is still there: %v", err)
		}
	}
	if _, err := f.store.Get(ctx, fresh.ID); err != nil {
		t.Fatalf("a result within the retention was deleted: %v", err)
	}
}
