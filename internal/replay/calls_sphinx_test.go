//go:build sphinx

package replay

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-voice/switchboard/asr/sphinx"
	"github.com/switchboard-voice/switchboard/ivr"
	"github.com/switchboard-voice/switchboard/tts"
)

// TestCalls replays every scenario in testdata/calls through the demo flow
// with the pocketsphinx backend and espeak-ng, as `switchboard test` does
// in CI.
func TestCalls(t *testing.T) {
	ctx := context.Background()
	prompts := tts.NewCache(&tts.Espeak{Voice: "en-us", Speed: 150})
	flow, err := ivr.Load("../../configs/flows/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := flow.Prepare(ctx, prompts); err != nil {
		t.Fatal(err)
	}
	rec, err := sphinx.New(sphinx.Config{Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	files, err := filepath.Glob("../../testdata/calls/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			sc, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := sc.CheckFlow(flow); err != nil {
				t.Fatal(err)
			}
			rep := Run(ctx, flow, sc, rec, prompts, testLog(t))
			t.Logf("%s: %s; heard %s; %v of audio in %v", sc.Name, joinPath(rep.Result.Path), heardList(rep.Heard), rep.Audio, rep.Elapsed)
			for _, f := range rep.Failures {
				t.Error(f)
			}
			// The same call again decides the same way. The confidence
			// may not be quite the same: pocketsphinx's decoders carry a
			// little state from one utterance to the next (a few
			// thousandths), so it is left out.
			again := Run(ctx, flow, sc, rec, prompts, nil)
			if a, b := decisions(rep), decisions(again); !reflect.DeepEqual(a, b) {
				t.Errorf("a second run differs:\n%+v\n%+v", a, b)
			}
		})
	}
}

// decisions is what a call decided, without recognition confidence.
func decisions(r Report) Report {
	r.Elapsed, r.Scenario = 0, nil
	r.Heard = append([]Heard(nil), r.Heard...)
	for i := range r.Heard {
		r.Heard[i].Confidence = 0
	}
	r.Result.Inputs = append([]ivr.Input(nil), r.Result.Inputs...)
	for i := range r.Result.Inputs {
		r.Result.Inputs[i].Confidence = 0
	}
	return r
}
