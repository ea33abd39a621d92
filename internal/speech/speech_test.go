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
