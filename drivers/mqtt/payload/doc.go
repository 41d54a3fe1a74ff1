// Package payload decodes MQTT device messages into event.Events: one Decoder per topic
// mapping, built from a Mapping (where the device id, the type, the device time and the
// fields are in the topic and the JSON payload).
//
// It is pure: no I/O, no clock (the receive time is an argument), safe for concurrent
// use. The MQTT driver (drivers/mqtt) owns the mapping config, its defaults and its
// validation, the connections and the acknowledgements; it hands each message to the
// Decoder of the mapping whose topic filter matched.
//
// Payloads are read by a one-pass scanner (jsonscan.go) that validates the document as
// encoding/json would and keeps only the values at the mapping's paths; a test and a fuzz
// target compare the two on any input.
package payload
