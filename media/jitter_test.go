package media

import (
	"slices"
	"testing"
)

// pkt makes a packet whose every sample is its sequence number's low bits,
// so the output order can be read back from the PCM.
func pkt(seq uint16) []int16 {
	p := make([]int16, FrameSamples)
	for i := range p {
		p[i] = int16(seq%1000) + 1
	}
	return p
}

type popped struct {
	v    int16 // first sample: seq%1000+1 for real packets
	lost bool
}

func drain(j *Jitter) []popped {
	var out []popped
	for {
		pcm, lost, ok := j.Pop()
		if !ok {
			return out
		}
		out = append(out, popped{pcm[0], lost})
	}
}

func push(j *Jitter, ssrc uint32, seqs ...uint16) []popped {
	var out []popped
	for _, s := range seqs {
		j.Push(ssrc, s, pkt(s))
		out = append(out, drain(j)...)
	}
	return out
}

func real(seqs ...uint16) []popped {
	var out []popped
	for _, s := range seqs {
		out = append(out, popped{int16(s%1000) + 1, false})
	}
	return out
}

func TestJitterInOrderNoDelay(t *testing.T) {
	j := NewJitter(0)
	for s := uint16(100); s < 110; s++ {
		j.Push(1, s, pkt(s))
		got := drain(j)
		if !slices.Equal(got, real(s)) {
			t.Fatalf("push %d: got %v", s, got)
		}
	}
}

func TestJitterReorder(t *testing.T) {
	j := NewJitter(3)
	got := push(j, 1, 10, 12, 11, 14, 13, 15)
	if want := real(10, 11, 12, 13, 14, 15); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if st := j.Stats(); st != (JitterStats{}) {
		t.Fatalf("stats %+v", st)
	}
}

func TestJitterDuplicatesAndLate(t *testing.T) {
	j := NewJitter(3)
	got := push(j, 1, 10, 12, 12, 11, 11, 10)
	if want := real(10, 11, 12); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if st := j.Stats(); st.Duplicates != 3 || st.Late != 0 {
		t.Fatalf("stats %+v, want 3 duplicates", st)
	}
	// 13 goes missing, is concealed once 17 arrives; then 13 turns up late.
	got = push(j, 1, 14, 15, 16, 17, 13)
	want := append([]popped{{real(12)[0].v / 2, true}}, real(14, 15, 16, 17)...)
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if st := j.Stats(); st.Late != 1 || st.Lost != 1 {
		t.Fatalf("stats %+v, want 1 late 1 lost", st)
	}
}

func TestJitterConcealment(t *testing.T) {
	j := NewJitter(3)
	got := push(j, 1, 1, 2)
	// 3, 4, 5 lost; 6..9 arrive: each missing packet is given up when a
	// packet more than 3 ahead of it is waiting.
	got = append(got, push(j, 1, 6, 7, 8, 9)...)
	want := real(1, 2)
	want = append(want, popped{real(2)[0].v / 2, true}, popped{0, true}, popped{0, true})
	want = append(want, real(6, 7, 8, 9)...)
	if !slices.Equal(got, want) {
		t.Fatalf("got %v,\nwant %v", got, want)
	}
	if st := j.Stats(); st.Lost != 3 {
		t.Fatalf("lost = %d, want 3", st.Lost)
	}
	// Nothing is released while fewer than depth+1 packets wait.
	j.Push(1, 11, pkt(11))
	j.Push(1, 12, pkt(12))
	j.Push(1, 13, pkt(13))
	if got := drain(j); len(got) != 0 {
		t.Fatalf("released %v before depth exceeded", got)
	}
}

func TestJitterWrap(t *testing.T) {
	j := NewJitter(3)
	got := push(j, 7, 65533, 65535, 65534, 1, 0, 2)
	if want := real(65533, 65534, 65535, 0, 1, 2); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// A loss across the wrap.
	j = NewJitter(3)
	got = push(j, 7, 65534, 0, 1, 2, 3)
	want := append(real(65534), popped{real(65534)[0].v / 2, true})
	want = append(want, real(0, 1, 2, 3)...)
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestJitterSSRCChange(t *testing.T) {
	j := NewJitter(3)
	got := push(j, 1, 500, 501)
	// The peer restarts its stream (re-INVITE) with a new SSRC and seq.
	got = append(got, push(j, 2, 9000, 9001)...)
	if want := real(500, 501, 9000, 9001); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if st := j.Stats(); st.Resyncs != 1 || st.Lost != 0 || st.Late != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestJitterSequenceJump(t *testing.T) {
	j := NewJitter(3)
	// 5000 alone is not believed; 5001 confirms the jump. 20 is a stray.
	got := push(j, 1, 10, 11, 5000, 5001, 20, 5002)
	if want := real(10, 11, 5000, 5001, 5002); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if st := j.Stats(); st.Resyncs != 1 || st.Late != 1 || st.Lost != 0 {
		t.Fatalf("stats %+v", st)
	}
	// A burst loss longer than the buffer (but not a resync) is skipped as
	// lost and play continues with the newest packets.
	j = NewJitter(3)
	got = push(j, 1, 10, 40, 41, 42, 43)
	var lost int
	for _, p := range got {
		if p.lost {
			lost++
		}
	}
	if got[0] != real(10)[0] || !slices.Equal(got[len(got)-4:], real(40, 41, 42, 43)) {
		t.Fatalf("got %v", got)
	}
	if st := j.Stats(); st.Lost != 29 {
		t.Fatalf("lost = %d, want 29 (%d concealed frames)", st.Lost, lost)
	}
}

func TestJitterLongPacketsTruncated(t *testing.T) {
	j := NewJitter(3)
	j.Push(1, 1, make([]int16, 1000))
	pcm, _, ok := j.Pop()
	if !ok || len(pcm) != MaxPacketSamples {
		t.Fatalf("got %d samples, ok %v", len(pcm), ok)
	}
}
