// Package stress holds the harnesses that prove what the engine promises
// under pressure: conflicting commands on one aggregate, SIGKILL at random
// moments, two engines on one event store, and load. They are tests; the
// short forms run in `make test`, the long forms when REDENGINE_STRESS=1
// (`make stress`). docs/reliability.md maps each guarantee to its test.
//
// The HTTP driver they share, also used by cmd/loadgen, is package
// stress/load.
package stress
