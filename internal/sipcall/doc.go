// Package sipcall places a scenario (package replay) as a real SIP call
// against a running server, in real time, and checks what the call did.
// It is the softphone and the transfer target at once: `switchboard test
// --target` uses it.
//
// The call: an INVITE over UDP (or TCP) offering PCMU, PCMA and
// telephone-event/8000 at 101 with ptime 20, the ACK, then the caller's
// audio as RTP on a drift-free 20 ms clock, built frame by frame exactly
// as a replay builds it (replay.Caller: line noise, say through espeak-ng,
// audio files), in the answer's codec. Key presses go out as RFC 4733
// events on the answer's telephone-event payload type instead of audio:
// marker on the first packet, duration growing by 160, the end packet
// three times, all with the press's timestamp. A hangup step sends BYE; a
// BYE from the server is answered 200 and ends the call; max_duration
// (real time here) ends it with our BYE and fails it.
//
// A REFER from the server is answered as the scenario's transfer entries
// say, in order (default ok): ok, busy and declined answer 202 and then
// NOTIFY (Event: refer;id=<REFER CSeq>, Subscription-State:
// terminated;reason=noresource, message/sipfrag "SIP/2.0 200 OK", 486 Busy
// Here or 603 Decline) after the entry's after; rejected answers 405;
// timeout answers 202 and never notifies.
//
// The server's call record (GET API/calls/<Call-ID>, see package records)
// is what wait steps and most expectations need. It is polled every 100
// ms during the call for the node path; after the call the finished
// record gives the path, answers, intents, transfers and outcome, checked
// by replay.CheckExpect with replay's messages and diffs. transferred_to
// is also checked against the Refer-To of the REFER the caller accepted.
// Without an API only SIP shows: outcome (who sent BYE, and whether a
// REFER was notified 200), transferred_to (Refer-To) and barge_in (from
// the audio); the rest is reported as skipped, and a scenario with wait
// steps fails.
//
// What a real line cannot see exactly:
//
//   - Whether the flow listens. The record has no such state, so the
//     server's audio stands for it: the server sends digital silence
//     whenever no prompt plays, so Options.ListenQuiet (600 ms) of it in a
//     row, longer than the pauses between a synthesised prompt's
//     sentences, begins a listening turn, and a node entered ends one. A
//     wait for listening therefore ends about 600 ms after the prompt
//     does, and a transfer's wait for its NOTIFY looks like listening.
//   - Barge-in by audio: a prompt that ends (silence, or the marker bit of
//     the next prompt) while the caller speaks, or up to 1.5 s after, was
//     stopped by the caller. A prompt that happens to end then counts too.
//   - Where each answer was given: the record lists ask answers without
//     their node, and none of what was said over a say prompt to reach a
//     global intent.
//
// The server runs its own configured flow; the scenarios must be written
// for that flow (switchboard test still loads FLOW to check their node
// and intent names).
package sipcall
