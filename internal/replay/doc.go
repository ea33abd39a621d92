// Package replay runs scripted calls through a flow without SIP or RTP:
// a session implements ivr.Call on a virtual clock counted in 20 ms frames
// and feeds the caller's audio, frame by frame, into the same listening
// pipeline a real call uses (asr.Listener with its VAD, asr.Turn for
// barge-in, endpointing and recognition), so a scenario decides the same
// way every run and runs far faster than real time. `switchboard test`
// and the flow tests in CI use it.
//
// # Scenario files
//
// A scenario is a YAML file describing one call: what the caller does, in
// order, and what the call must have done by the end.
//
//	name: billing by voice over the greeting   # optional; default the file name
//	caller: "+15551230000"                      # optional: Info().Caller
//	called: "100"                               # optional: Info().Called
//	max_duration: 5m                            # virtual-time cap; default 5m
//	steps:
//	  - silence: 1s                  # line silence: -65 dBFS noise, not digital zero
//	  - wait: {node: greeting}       # silence until the flow next enters greeting
//	  - say: "billing please"        # espeak-ng, or {text: ..., voice: en-us+f2, wpm: 150}
//	  - audio: ../speech/menu-billing-enus-130-clean.wav  # relative to this file
//	  - dtmf: "0"                    # key presses 100 ms apart, or {keys: "12", every: 300ms}
//	  - hangup: {}                   # the caller hangs up here
//	transfer:                        # what transfer targets do; default: accept (200)
//	  - target: sip:operator@127.0.0.1:5090   # optional; default any target
//	    result: busy                 # ok | busy | declined | rejected | timeout
//	    after: 2s                    # optional: how long the answer takes
//	expect:                          # every key optional; absent = not checked
//	  nodes: [disclosure, greeting, menu, billing, goodbye]  # the whole path
//	  nodes_include: [menu, billing] # or: these nodes, in this order, among others
//	  recognised: [billing]          # each recognised answer, in order, as whole words
//	  barge_in: true                 # the caller's speech stopped a prompt (false: never)
//	  outcome: hangup                # hangup | transferred | caller-hangup | error
//	  transferred_to: sip:operator@127.0.0.1:5090
//	  intents: [operator]            # global intents used, in order
//
// Steps run on the virtual clock in whole frames; the clock moves only
// while the flow plays a prompt, listens or waits for a transfer, and each
// frame slot gets the caller's next frame. A wait looks at what the flow
// did since the caller's previous step began (a previous wait: ended), so
// a node entered while the caller was still talking or pressing counts:
// node waits for one more entry into the node (with visit: N, for its
// N-th entry in the whole call), listening: true then for a listening
// turn begun after it (the flow listening after its prompt; alone: the
// flow's next listening turn). The caller is silent meanwhile.
//
// say audio is normalised as the speech corpus is (-16 dBFS RMS, peaks at
// most -2 dBFS), laid over the line noise and passed through G.711 µ-law,
// as a phone line would. Text without voice or wpm is spoken by the
// prompts the caller of Run gives (switchboard test: the flow's own
// voice); with them, by espeak-ng directly. After the last step the
// caller stays silent until the flow ends the call. transfer entries are
// used in order, each once, by the first transfer whose target they match;
// a transfer no entry is left for is accepted.
//
// The session drives asr.Listener and asr.Turn as sip.Call does (the same
// pre-roll, barge-in minimum and endpoint presets), except that it hands
// the turn each frame as it arrives rather than in batches of up to five
// quiet frames, and that the caller hears no echo of the prompts.
//
// Beyond expect, a report fails when the call ran into max_duration, when
// it ended in an error that expect.outcome does not name, when recognition
// failed, and when steps other than silence were never reached (the flow
// ended before the caller did what the scenario says it does).
package replay
