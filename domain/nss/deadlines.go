package nss

import "time"

// ActionEliminate is the scheduler action due at an assignment's
// AltaDeadline: run Eliminate (as the system) on the assignment.
const ActionEliminate = "eliminate_nss"

// DeadlineChange is what one assignment event does to the assignment's
// deadline: set it (Set true, with Due and Action) or clear it (Set false).
// Key identifies the deadline; Stream and AggregateID name the assignment
// the action runs on.
//
// TODO(scheduler): map onto scheduler.Change once the scheduler package
// lands; until then the deadlines projection converts this value.
type DeadlineChange struct {
	Key         string
	Stream      string
	AggregateID string
	Set         bool
	Due         time.Time
	Action      string
}

// DeadlineKey is the key of the alta deadline of an assignment.
func DeadlineKey(assignmentID string) string { return Category + "-" + assignmentID + "/alta" }

// Deadlines maps an event of the assignment stream to its effect on the
// deadline: NSSAssigned sets ActionEliminate at AltaDeadline (the end of the
// third calendar day after the assignment day, Europe/Madrid);
// AltaRequested, NSSEliminated and AssignmentCancelled clear it. Other
// events change nothing (ok false).
func Deadlines(assignmentID string, event any) (change DeadlineChange, ok bool) {
	c := DeadlineChange{Key: DeadlineKey(assignmentID), Stream: Category + "-" + assignmentID, AggregateID: assignmentID}
	switch ev := event.(type) {
	case NSSAssigned:
		c.Set, c.Due, c.Action = true, ev.AltaDeadline, ActionEliminate
		return c, true
	case AltaRequested, NSSEliminated, AssignmentCancelled:
		return c, true
	}
	return DeadlineChange{}, false
}
