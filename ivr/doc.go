// Package ivr holds Switchboard's flows: the YAML format, its loader and
// validator, and the engine that walks a flow for one call through the Call
// interface (which sip+media implement for real calls and a replay session
// for tests).
//
// # Flow files
//
// A flow file (configs/flows/*.yaml) is one YAML mapping:
//
//	flow: demo            # the flow's name (required)
//	start: greeting       # the id of the first node (required)
//	nodes:                # node id -> node (required); ids are letters,
//	  greeting:           # digits, _ and -, starting with a letter
//	    say: "You have reached Switchboard, an automated assistant."
//	    barge_in: false   # this prompt plays in full
//	    next: menu
//	  menu:
//	    ask:
//	      prompt: "For billing, press 1. For sales, press 2."
//	      timeout: 5s
//	      choices:
//	        - {key: "1", say: "Billing.", next: billing}
//	        - {key: "2", next: sales}
//	      no_input: {reprompt: 1, then: goodbye}
//	      no_match: {say: "Sorry, that is not an option.", reprompt: 2, then: goodbye}
//	  ...
//	  goodbye:
//	    hangup: {say: "Thank you for calling. Goodbye."}
//
// Each node has exactly one kind key:
//
//   - say: PROMPT, with next: NODE (required). Plays the prompt, goes to next.
//   - ask: a mapping. Plays prompt, takes an answer by voice or keys, and
//     goes to the next of the choice it matches. Its keys:
//     prompt (PROMPT, required);
//     choices (required, a list of {key, phrases, next, say}: key is one or
//     more DTMF keys 0-9 * # A-D, quoted when it holds # or *; phrases is a
//     list of what a caller may say for the choice, synonyms included, matched
//     as whole words anywhere in the answer ("I'd like billing please" matches
//     billing), the longest matching phrase deciding between choices; a
//     choice has a key, phrases or both; next is required; say is an optional
//     confirmation played before going on; keys are unique);
//     endpoint (what the answer is like: menu, yes_no, digits or free_text,
//     which sets how long a pause ends it and how long it may last; default
//     menu), end_silence and max_speech (override the preset);
//     timeout (no-input timer, started when the prompt ends; default 5s);
//     max_digits (keys per entry, 1-32; default the longest choice key);
//     terminator (keys that end an entry early, e.g. "#"; default none);
//     inter_digit (wait between keys; default 3s);
//     no_input and no_match (each {say, reprompt, then}; see below).
//   - goto: NODE. Goes to that node.
//   - hangup: {} or {say: PROMPT} (or nothing at all). Plays the optional
//     goodbye, then ends the call.
//
// Besides its kind key, a node may have barge_in: speech, hotword or off
// (true means speech, false off; default speech; not on goto). With speech,
// the caller's voice stops the node's prompts once they have spoken for a
// moment (a cough does not); with hotword, only words that match one of the
// choices do; with off, prompts play in full: use it for a disclosure. Keys
// stop a prompt unless barge_in is off, and become the first keys of the
// next ask's entry; until that ask has taken them, further interruptible
// prompts are skipped (the caller is typing ahead), except a hangup node's
// goodbye, which drops such keys. A say node followed by an ask listens for
// that ask's phrases, so an answer given over a greeting is taken.
//
// A flow may set language: (en, ru, ...) for speech recognition.
//
// No-input (nothing within timeout) and no-match (keys that are no choice's
// key, or only a terminator) are counted separately for each visit of an ask.
// On each one the ask plays say, if given; then, while the count is at most
// reprompt (0-10, default 1), it plays the prompt again and listens again;
// after that it goes to then. Without then, it hangs up without a goodbye,
// so give then a goodbye node. An absent no_input or no_match block means
// {reprompt: 1} with no say and no then.
//
// A PROMPT is text for the synthesiser ("..." or {text: "..."}) or an audio
// file ({file: prompts/menu.wav}, relative to the flow file). Durations are
// Go durations with a unit (5s, 1500ms), above zero and at most 1m.
//
// Every key not listed here is an error, so a typo never goes unnoticed and a
// flow written for a later version fails loudly on this one. Load reports all
// problems at once, each as "file:line:col: message"; the Flow keeps the
// position of every node and field (Pos, Fields) for later diagnostics.
//
// # Running a flow
//
// Load and Prepare the flow once (Prepare renders every prompt, so nothing is
// synthesised on a call's path), then for each call run NewEngine(flow,
// log).Run(ctx, call) on the call's goroutine. The Result says how the call
// ended, which nodes it went through and what the caller pressed. More than
// MaxTransitions node transitions in one call end it with OutcomeError.
package ivr
