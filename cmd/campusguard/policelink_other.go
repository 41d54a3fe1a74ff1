//go:build !unix

package main

// chownLikeDir is a no-op where files have no unix owner.
func chownLikeDir(string) error { return nil }
