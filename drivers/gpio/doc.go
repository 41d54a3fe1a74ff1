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
//     the active event is sent (a panic button pressed for at least N ms).
//
// The driver reports the wire faithfully: the active event when the device becomes
// active, the inactive event when it returns to normal, every time (a button pressed
// twice gives two presses, with a release between). It does not latch: an alarm
// latches in alerting, which keeps it until a person resets it (GB 50394). A config
// that still sets latch on an input is refused with a located error.
//
// When an input starts (daemon start, or a reload that adds or changes it) its level
// is read once; if the device is already active then (a button held, a contact open)
// the active event is sent, after debounce and hold, with the field initial=true
// (FieldInitial); a normal level sends nothing. A supervision line in trouble at
// start likewise sends "tamper" with initial=true. The mark lets alerting tell a
// condition that was already there (an alarm it restored from its journal) from a
// new occurrence.
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
// for a duration capped by max_on, after which it turns off by itself. Two calls turn
// it off:
//
//   - Silence: a person silenced it (acknowledged or reset the alarm, pressed a
//     silence button);
//   - Off: no person (the alarm cleared or resolved, it no longer routes here). The
//     max_on cut-off is the same.
//
// Neither keeps a guard: the next Sound sounds at once. The 30 s re-sound rule
// (GB 50394) belongs to the alarm and is kept in alerting, so an output has no
// resound_after setting (a config still giving one is refused with its location).
//
// Outputs are off at start and at shutdown, and the first level a line shows is the
// off level, so an active-low relay never clicks on at start or reload. periph's
// character-device driver (gpioioctl) would make the line an output first, which the
// kernel drives low, and only then write the level; HostSource (an OutputSource)
// therefore requests such a line from the kernel as an output with its off value in
// the one request. sysfs and memory-mapped SoC pins set the level before the
// direction in periph's own Out and are driven by it.
//
// # Reload
//
// Driver.Apply takes a new Config: inputs and outputs whose config did not change keep
// their open line and goroutine; changed ones are restarted; removed ones are stopped
// (outputs turned off and their lines released).
//
// # Why one package
//
// Its single job is the GPIO lines, about 2,100 lines: inputs (input.go, machine.go),
// outputs (output.go, pattern.go), opening lines (pins.go, cdev_linux.go), the section's
// config and the Driver that applies it. Inputs and outputs share the pin source, the
// config and the reload that keeps unchanged lines open. The seam that could split off
// is the pure debounce and hold machine (machine.go) with the output patterns
// (pattern.go), about 240 lines; not worth a package now.
package gpio
