package main

import (
	"path/filepath"
	"testing"

	"github.com/switchboard-voice/switchboard/ivr"
)

// TestShippedFlowsLintClean: every flow the repository ships or serves in
// its tests loads and has no lint errors, since serve refuses those.
func TestShippedFlowsLintClean(t *testing.T) {
	paths, _ := filepath.Glob("../../configs/flows/*.yaml")
	more, _ := filepath.Glob("../../testdata/flows/*.yaml")
	paths = append(paths, more...)
	if len(paths) < 4 {
		t.Fatalf("found only %v", paths)
	}
	for _, p := range paths {
		f, err := ivr.Load(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		for _, fd := range ivr.Lint(f) {
			if fd.Severity == ivr.SeverityError {
				t.Errorf("%s", fd)
			}
		}
	}
}
