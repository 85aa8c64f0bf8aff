//go:build !unix

package main

import "time"

// cpuTime is 0 where getrusage(2) is not offered: the report then shows no
// CPU time.
func cpuTime() time.Duration { return 0 }
