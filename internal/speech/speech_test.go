package speech

import (
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/asr"
	"github.com/switchboard-voice/switchboard/ivr"
)

func TestTurnOptions(t *testing.T) {
	o := TurnOptions(&ivr.Speech{BargeIn: ivr.BargeInHotword, Endpoint: "yes_no", EndSilence: 900 * time.Millisecond}, true, 2*time.Second)
	if o.BargeIn != asr.BargeInHotword || !o.Listen || o.Endpoint.EndSilence != 900*time.Millisecond ||
		o.Endpoint.NoInput != 2*time.Second || o.Endpoint.MaxSpeech != 5*time.Second || o.Endpoint.MinSpeech != BargeInMinSpeech {
		t.Errorf("options %+v", o)
	}
	if o := TurnOptions(&ivr.Speech{Endpoint: "nonsense"}, false, 0); o.Endpoint.EndSilence != 700*time.Millisecond {
		t.Errorf("unknown preset gave %+v", o.Endpoint)
	}
}

func TestEntry(t *testing.T) {
	e := NewEntry(ivr.ListenOptions{MaxDigits: 3, Terminator: "#"})
	if e.Wait() != 5*time.Second {
		t.Errorf("first wait %v", e.Wait())
	}
	for _, k := range []byte("12#9") {
		e.Add(k)
	}
	if !e.Done() || e.Input().Digits != "12" || string(e.Rest) != "9" || e.Wait() != 3*time.Second {
		t.Errorf("entry %+v rest %q", e.Input(), e.Rest)
	}
	e = NewEntry(ivr.ListenOptions{})
	e.Timeout()
	if !e.Done() || e.Input().Kind != ivr.InputNoInput {
		t.Errorf("timed out entry %+v", e.Input())
	}
}
