package precall

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/rtcprobe/rtcprobe/checks/config"
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

// TestRetentionWithThePageDisabled: the retention is the store's, so it
// deletes old results also when the page is off (precall.enabled: false),
// by the --retention flag or by the config's precall.retention.
func TestRetentionWithThePageDisabled(t *testing.T) {
	for name, fc := range map[string]fixtureConfig{
		"flag":   {config: &config.Config{Precall: &config.Precall{Disabled: true}}, opt: Options{Retention: 24 * time.Hour}},
		"config": {config: &config.Config{Precall: &config.Precall{Disabled: true, Retention: 24 * time.Hour}}},
	} {
		t.Run(name, func(t *testing.T) {
			fc.dsn = filepath.Join(t.TempDir(), "results.db")
			ctx := context.Background()
			st, err := store.Open(ctx, fc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			rep := []byte(`{"schema":"rtcprobe/v1","checks":[]}`)
			const old = 193
			for i := range old {
				r := store.Result{ID: rand.Text(), Created: time.Now().Add(-48*time.Hour - time.Duration(i)*time.Minute), Verdict: "pass", Report: rep}
				if err := st.Put(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			fresh := store.Result{ID: rand.Text(), Created: time.Now().Add(-time.Hour), Verdict: "pass", Report: rep}
			if err := st.Put(ctx, fresh); err != nil {
				t.Fatal(err)
			}
			_ = st.Close()
			f := startFixture(t, fc)
			if r := f.do(t, "GET", "/", nil); r.code == http.StatusOK {
				t.Fatalf("the page is served though disabled: %d", r.code)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				left, err := f.store.List(ctx, store.Filter{Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				if len(left) == 1 && left[0].ID == fresh.ID {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d results left, want only the one within the retention (of %d older ones)", len(left), old)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
