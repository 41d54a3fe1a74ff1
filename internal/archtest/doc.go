// Package archtest holds no code: its test checks every package's imports against the
// tables in docs/architecture.md, so the layering written there cannot drift from the
// code. A new package needs a row there before its test passes.
package archtest
