// Package telemetry forwards campusguard's telemetry to InfluxDB: device events, device
// health snapshots, alarm transitions, patrol results and the gateway's own stats, in
// the schema documented in docs/telemetry.md.
//
// A Forwarder batches points (BatchSize points or FlushInterval, whichever comes first)
// and writes each batch with the InfluxDB v2 write API (WriteAPIBlocking), so it knows
// every batch's outcome. It works against InfluxDB 2.x and against 1.8+ through its
// v2-compatible endpoint (bucket "db/retention", token "user:password").
//
// The event path never waits for InfluxDB: Run reads a DropOldest bus subscription and
// hands full batches to a writer through a short queue; when the queue is full, or
// InfluxDB is unreachable or answers 5xx/429 (or 401/403/404, a configuration problem
// that must not lose data), batches go to an on-disk spool (package telemetry/spool).
// When InfluxDB answers again, the spool drains in order at DrainRate batches per second
// while live data keeps flowing. Batches InfluxDB rejects as bad (400, 413, 422) are
// logged with the offending point and dropped.
//
// Alarm history reaches the forwarder as an alerting.Sink named "influx" (Deliver), so
// it rides the journal's durable delivery; alarm batches have the highest priority in
// the spool and are dropped last.
//
// Points are unique: the timestamp is the event's time at millisecond precision with
// the sub-millisecond digits replaced by a per-point number (the event's Seq, a hash of
// the notification id, ...), so InfluxDB never merges two points and a batch written
// twice (a retry, a spool drained after a crash) overwrites itself instead of counting
// twice.
//
// # Why one package
//
// Its single job is forwarding to InfluxDB, about 1,600 lines: the point schema
// (schema.go, patrol.go), batching (batch.go, forwarder.go), writing and reconnecting
// (writer.go, reconnect.go) and the section's config. The disk spool already is a
// package of its own (telemetry/spool). The schema (schema.go, the line-protocol
// encoder that the event path and every Record method call) is the seam that could
// split off; at about 460 lines with the Forwarder its only user, it stays beside it.
package telemetry
