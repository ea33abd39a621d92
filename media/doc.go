// Package media owns a call's audio: the RTP socket pair, the paced sender
// (one sharded 20 ms Clock shared by all calls, continuous sequence numbers
// and timestamps across prompts and silence), the receiver (symmetric latching, jitter buffer,
// payload-type demux, G.711 decode, RFC 4733 events), the prompt player that
// barge-in stops, and the RTP port allocator. Everything here works on 8 kHz
// mono PCM16 in 20 ms frames of FrameSamples samples.
package media

import "time"

const (
	// SampleRate is the rate of every PCM frame in this package (G.711's).
	SampleRate = 8000
	// FrameSamples is the number of samples in one 20 ms frame at SampleRate.
	FrameSamples = 160
	// FrameDuration is the length of one frame and the RTP packetisation time.
	FrameDuration = 20 * time.Millisecond
)
