// Package policelink is the police link sink: it reports alarms to the regional
// alarm receiving centre over SIA DC-09 (package dc09), as an alarm panel would.
//
// Delivery. The alerting pipeline calls Sink.Deliver for this sink's pending
// notifications in journal order, one at a time, and retries on error; ordering,
// durability and the backlog after an outage therefore come from the journal. A
// fired alarm is sent with qualifier 1, its resolution with qualifier 3 (restore,
// when its mapping says so); other transitions are accepted without sending. Each
// report carries the alarm's own time (fired or resolved) in an [H..] block, while
// the frame timestamp is the sending time corrected by the receiver's clock, so a
// backlog keeps its event times and is still accepted. A retry of the same
// notification reuses its sequence number (kept, when a Store is given, across
// restarts). Deliver returns nil only on a valid ACK (same sequence number and
// account; an encrypted ACK is decrypted), *alerting.Permanent on DUH (and
// publishes a report_rejected event for staff), and an error when no receiver
// acknowledged. The sink asks for commit order (InOrder) and wakes the core's
// worker when a failed path answers again (Waker).
//
// Answers. Any answer whose token is NAK is a NAK and any DUH a DUH, whatever their
// routing order or framing (dc09.ParseAnswer): receivers in the field answer a frame
// they cannot decrypt with "NAK"0000L0R0A0[]_ts and an unknown account with a bare
// "NAK". A NAK the clock does not explain is a rejection (wrong account, key or
// key_encoding): logged at once with the answer, shown in health, published once as
// report_rejected; the notification stays pending. Answers are redacted
// (dc09.RedactKeys) before they are logged, printed or shown: a receiver may echo
// the key in a [K…] block.
//
// Sequence numbers. One counter per account for every message but NULL (0000),
// reserved in blocks: the block's end is written to the Store before the first
// frame that uses one of its numbers is sent, so a crash skips numbers and never
// repeats one; Close writes the last number issued.
//
// Transport. TCP keeps one connection per receiver and reconnects after an error;
// UDP sends a datagram and waits for the answer datagram. Each attempt is bounded by
// Config.Timeout. A NAK sets the receiver's clock offset from its timestamp and the
// same sequence number is resent, at most NAKRetries times.
//
// Paths. Receivers are tried in order: main primary, main secondary, backup
// primary, backup secondary, except that receivers whose last message failed go
// behind the others (so a silent main path does not eat the delivery timeout).
// Run supervises the paths with NULL link tests (every supervision.main on the main
// path; every supervision.backup on the backup, or supervision.main while main is
// down); any acknowledged message restarts a path's timer. When every receiver of a
// path has failed, the path is down: a path_fail event is published (for the rule
// engine to raise a staff alarm) and a CID 350 (SIA YC) report with zone 1 (main)
// or 2 (backup) is sent, on the other path first; its recovery publishes
// path_restore and sends 350 with qualifier 3 (SIA YK). Run also sends the
// periodic test (CID 602, SIA RP).
//
// TestReport is the `campusguard policelink test` command: a 601 or 602 to every
// receiver, each answer printed. See docs/policelink.md.
//
// # Why one package
//
// Its single job is the police link sink, about 2,900 lines. Delivery (sink.go),
// sending over the paths (send.go), supervision (supervise.go), sequence numbers
// (seq.go) and the kept state (state.go) share one view of the receivers: an
// acknowledged delivery restarts a path's supervision timer, a path that fails is
// reported over the other path, numbered by the same counters, and the clock offset a
// receiver's NAK taught serves every later message to it. The transport (send.go: connections, path order, NAK
// retry) is the seam that could split off; it would export that shared path state, so
// it is not worth it now. The codec is already a package of its own (dc09).
package policelink
