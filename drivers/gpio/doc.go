// Package gpio drives campusguard's wired devices through periph.io: dry-contact
// inputs (panic buttons, infrared beams, window contacts) and relay outputs (sirens,
// strobes).
//
// # Inputs
//
// Each input is one device of the devices list on one GPIO line, named by its
// gpioreg name ("GPIO17", a kernel line name) or by chip and line offset. The input
// waits for edges (WaitForEdge with a bounded timeout, never polling the level) and
// turns them into events:
//
//   - contact "no" (normally open) or "nc" (normally closed) and active_level (the
//     level the pin reads while the contact is closed: "low" for a contact to ground
//     with a pull-up, "high" for a contact to the supply with a pull-down) together
//     say when the device is active;
//   - debounce: a level counts once it has been stable that long (denoise);
//   - hold: the device must stay active that long, measured from the edge, before
//     the active event is sent (a panic button pressed for at least N ms);
//   - latch: once active, the input stays active until Driver.Reset; the release is
//     not reported, and a reset while the contact is still active reports it active
//     again at once.
//
// Active and inactive events are "pressed"/"released" for buttons and contacts and
// "active"/"inactive" for presence sensors (kind antifall); active_type and
// inactive_type override that. A supervision line (a second input that reads the
// line's trouble state: a tamper loop, or the trouble output of an end-of-line
// module) gives "tamper" and "tamper_restore" events. A pin that cannot be opened,
// or whose edge wait keeps failing, gives "fault" and later "fault_restore": the
// driver retries and never crashes. While an input is open and readable, the driver
// sends a "heartbeat" event every Config.Heartbeat so device health can supervise it.
//
// # Outputs
//
// An Output drives a siren or strobe relay: Sound with a Pattern (steady, pulse, sos)
// for a duration capped by max_on, after which it turns off by itself; Silence turns it
// off, and a new Sound within resound_after (30 s, GB 50394) of a silence is
// suppressed, while a later one sounds again. Outputs are off at start and at shutdown.
//
// # Reload
//
// Driver.Apply takes a new Config: inputs and outputs whose config did not change keep
// their open line and goroutine; changed ones are restarted; removed ones are stopped
// (outputs turned off and their lines released).
package gpio
