package checks

import (
	"testing"
)

// catalogCheck returns the catalogue's check with that ID.
func catalogCheck(t *testing.T, id string) *Check {
	t.Helper()
	for _, c := range Catalog() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %s in the catalogue", id)
	return nil
}
