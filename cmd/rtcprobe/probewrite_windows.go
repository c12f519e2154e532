package main

import "os"

// probeWrite: Windows has no device that refuses every write the way
// /dev/full does, so an output file is taken as writable once opened;
// a failing write is still reported when the report is written.
func probeWrite(*os.File) error { return nil }
