// Package mqtt is campusguard's MQTT device driver: one paho client per broker with a
// persistent session, and config-driven payload decoders that turn each vendor's JSON
// into event.Events.
//
// # Flow
//
// Every message of a broker arrives on paho's router goroutine (order matters). The
// driver matches its topic against the broker's mappings (the first mapping in config
// order whose filter matches wins), decodes it with the mapping's Decoder, checks the
// device against the site directory (unknown devices and kind mismatches are dropped and
// counted), applies the per-device token bucket (excess is dropped, counted and still
// acknowledged), and hands the event to a bounded queue owned by the driver. A single
// worker publishes queued events to the bus in arrival order and only then acknowledges
// the message to the broker (manual ack, at-least-once): a crash between broker and bus
// re-delivers instead of losing. When the queue is full the handler waits for room
// (back-pressure); the stall is counted.
//
// Malformed payloads (not JSON, missing or mistyped fields, oversized, invalid UTF-8) are
// counted per device and reason, logged at most once per device per minute (with the
// number suppressed), acknowledged and otherwise ignored: they never stop the client.
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
// running client. Secrets are resolved by Config.ResolveSecrets (password_file and the
// CAMPUSGUARD_MQTT_<NAME>_PASSWORD environment variable) before Validate and Apply.
package mqtt
