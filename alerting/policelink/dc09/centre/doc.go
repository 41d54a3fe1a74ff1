// Package centre is a small SIA DC-09 alarm receiving centre: the peer of the
// police link's tests and the demo's stand-in (simulator.police_receiver). It
// listens over TCP and/or UDP,
// decodes what it receives with package dc09, answers ACK, NAK, DUH or
// nothing as scripted, keeps its own clock (offset and acceptance window like
// a real receiver, to exercise NAK time correction), and records every frame
// in order so that tests can wait for N messages without sleeping. With
// Config.Field it answers like the receiver library behind Home Assistant's SIA
// integration (field NAK, bare NAK, ASCII keys, key echo): see FieldConfig.
package centre
