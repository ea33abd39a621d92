package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestLintCommand(t *testing.T) {
	const (
		demo     = "../../configs/flows/demo.yaml"
		warnOnly = "../../testdata/flows/lint/big_menu.yaml"
		bad      = "../../testdata/flows/lint/no_retry.yaml"
	)
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		stdout  string
		stderr  string
	}{
		{name: "clean", args: []string{demo}, stderr: "1 flow: 0 errors, 0 warnings\n"},
		{
			name:   "warnings pass",
			args:   []string{demo, warnOnly},
			stdout: warnOnly + `:11:9: warning: node "menu": menu has 6 choices; callers keep 4 or 5 in mind at most: split it into two levels` + "\n",
			stderr: "2 flows: 0 errors, 1 warning\n",
		},
		{
			name:    "warnings fail with --strict",
			args:    []string{"--strict", warnOnly},
			wantErr: true,
			stdout:  warnOnly + `:11:9: warning: node "menu": menu has 6 choices; callers keep 4 or 5 in mind at most: split it into two levels` + "\n",
			stderr:  "1 flow: 0 errors, 1 warning\n",
		},
		{
			name:    "errors fail, printed without a prefix",
			args:    []string{bad},
			wantErr: true,
			stdout: bad + `:10:7: node "menu": ask has no no_input: a caller who says nothing is hung up on without a goodbye; add no_input: {then: NODE}` + "\n" +
				bad + `:10:7: node "menu": ask has no no_match: a caller whose answer matches no choice is hung up on without a goodbye; add no_match: {then: NODE}` + "\n" +
				bad + `:15:7: node "confirm": ask has no no_match: a caller whose answer matches no choice is hung up on without a goodbye; add no_match: {then: NODE}` + "\n",
			stderr: "1 flow: 3 errors, 0 warnings\n",
		},
		{
			name:    "load errors count as errors",
			args:    []string{"--strict", demo, "testdata/nope.yaml"},
			wantErr: true,
			stdout:  "ivr: load flow: open testdata/nope.yaml: no such file or directory\n",
			stderr:  "2 flows: 1 error, 0 warnings\n",
		},
		{name: "no flow", args: []string{"--strict"}, wantErr: true, stderr: "usage: switchboard lint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := lintCommand(tt.args, &stdout, &stderr)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error: %v", err, tt.wantErr)
			}
			if got := stdout.String(); got != tt.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", got, tt.stdout)
			}
			if got := stderr.String(); !strings.HasPrefix(got, tt.stderr) {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, tt.stderr)
			}
		})
	}
}

// TestLintCommandParseError checks that a flow Load rejects is printed as
// Load reports it, one problem per line.
func TestLintCommandParseError(t *testing.T) {
	path := t.TempDir() + "/bad.yaml"
	if err := os.WriteFile(path, []byte("flow: t\nstart: menu\nnodes:\n  menu:\n    goto: nowhere\n    next: menu\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := lintCommand([]string{path}, &stdout, &stderr); err == nil {
		t.Error("a flow that does not load passed")
	}
	want := path + `:5:11: node "menu": unknown goto node "nowhere"` + "\n" +
		path + `:6:5: node "menu": next does not apply to a goto node (goto names the next node)` + "\n"
	if got := stdout.String(); got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
	}
	if got := stderr.String(); got != "1 flow: 2 errors, 0 warnings\n" {
		t.Errorf("stderr = %q", got)
	}
}
