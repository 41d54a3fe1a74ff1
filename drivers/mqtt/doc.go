// Package mqtt is campusguard's MQTT device driver: one paho client per broker with a
// persistent session, and the topic mappings whose payload decoders (package
// drivers/mqtt/payload, pure) turn each vendor's JSON into event.Events.
//
// # Flow
//
// Every message of a broker arrives on paho's router goroutine (order matters). The
// driver matches its topic against the broker's mappings (the first mapping in config
// order whose filter matches wins), decodes it with the mapping's Decoder, checks the
// device against the site directory (unknown devices and kind mismatches are dropped and
// counted), applies the per-device rate limit (below), and hands the event to a bounded
// queue owned by the driver. A single worker publishes queued events to the bus in
// arrival order. When the queue is full the handler waits for room (back-pressure); the
// stall is counted.
//
// Malformed payloads (not JSON, missing or mistyped fields, oversized, invalid UTF-8) are
// counted per device and reason, logged at most once per device per minute (with the
// number suppressed), acknowledged and otherwise ignored: they never stop the client.
//
// # When a message is acknowledged
//
// Acknowledgement is manual (paho's auto-ack is off): a QoS 1 message gets its PUBACK
// only when the driver is done with it, so the broker keeps, and delivers again to the
// persistent session, anything the gateway lost.
//
//   - A message that raises nothing (no mapping, malformed, unknown device, kind
//     mismatch, a repeat dropped by the rate limit) is acknowledged at once.
//   - With Options.Durable set (the daemon passes its event.Watermark), a message that
//     became an event is acknowledged only after Durable.Wait(ctx, seq) returned for the
//     event's bus sequence number: every journal write the event caused (an alarm, its
//     state) is on disk. The worker does not wait: it queues (seq, message) for an acker
//     goroutine and hands the next event to the bus at once, so up to the broker's
//     in-flight window (Mosquitto's max_inflight_messages, 20 by default) of messages
//     are on their way through the pipeline together. The acker acknowledges in
//     sequence order; while the watermark is held (the journal cannot write) it
//     acknowledges nothing, and the broker stops sending once its window is full.
//     campusguard_mqtt_awaiting_durable counts the messages waiting.
//   - Without Durable (tests, tools), a message is acknowledged once its event is on
//     the bus.
//   - At shutdown, or when the Publisher refuses an event, the message stays
//     unacknowledged: the broker delivers it again to the next session (at least once:
//     a message can come twice, never not at all).
//
// Acknowledgements are sent in the order of the messages that produced events; a
// message that raises nothing is acknowledged ahead of earlier ones still waiting.
// MQTT 3.1.1 (4.6) asks for PUBACKs in the order of receipt; Mosquitto matches each
// PUBACK by its packet id and does not depend on the order. A PUBACK for a message of a
// connection lost since is dropped by paho, and the broker delivers that message again
// after the reconnect.
//
// # Rate limits and floods
//
// Each mapping has a token bucket per device (rate_limit: rate per second and burst).
// It limits repeats only: an event whose type, or whose value of one of the state
// fields pressed, occupied, active, tamper, fault or online, differs from the last event
// passed for the same device and mapping always passes (a change of state is never
// lost), and events of type pressed, tamper and fault always pass, even repeated (a
// momentary button reports every press the same way). They take a token when there is
// one. Other repeats pass while the bucket has a token and are dropped otherwise
// (counted in campusguard_mqtt_dropped_total{reason="rate"}, acknowledged).
//
// The first drop of a device starts a flood: the driver logs it (a warning naming the
// device, then at most one line a minute with the number dropped so far) and hands on
// one event of type fault for the device, fields reason "flood" and dropped (the number
// dropped so far, 1). When the device has gone FloodRestoreAfter (10 s), or its bucket's
// refill time (burst/rate) when that is longer, without a drop, the flood ends: one
// fault_restore event with reason "flood" and dropped (the flood's total), and an info
// log line. A rate below 0 turns the limit off for the mapping.
//
// # Sessions
//
// Each broker client uses a stable client id, clean session off, resumed subscriptions
// and a paho FileStore under the broker's store dir, so QoS 1 messages published while
// the gateway was away are delivered when it comes back. It reconnects by itself with
// back-off (up to max_reconnect_interval) and subscribes again after every connect, so a
// broker that lost its sessions gets them back.
//
// # Reload
//
// Driver.Apply swaps config in one step: brokers whose config did not change keep their
// client and session; mapping changes are applied with SUBSCRIBE/UNSUBSCRIBE on the
// running client. Config.Resolve reads the secrets (password_file and the
// CAMPUSGUARD_MQTT_<NAME>_PASSWORD environment variable) and checks the TLS files, after
// Validate and before Apply.
//
// # Why one package
//
// Its single job is a message's way from the broker to the bus and back to its
// acknowledgement, about 2,100 lines: the section's config and checks (config.go), the
// clients and sessions (broker.go, store.go, bufconn.go), the message path and the
// acker (driver.go, ready.go) and the per-device rate limit (limit.go). The payload
// decoders, a pure job, are package drivers/mqtt/payload. The rate limiter is the next
// seam (pure, about 250 lines) but only the message path uses it; the config stays
// here because the config loader decodes the section into it.
package mqtt
