package nss

import "time"

// ActionEliminate is the scheduler action due at an assignment's
// AltaDeadline: run Eliminate (as the system) on the assignment.
const ActionEliminate = "eliminate_nss"

// DeadlineChange is what one assignment event does to the scheduler's
// deadlines: set (Clear false) the deadline Key, due at Due, to run Action
// on the assignment AssignmentID; or clear it (Clear true). The shape is
// the one of domain/cases, so the API's scheduler.Mapper converts both the
// same way (Key → DeadlineID, AssignmentID → Target, Clear → Kind). The
// domain does not import the scheduler, which is I/O.
type DeadlineChange struct {
	Key          string    `json:"key"`
	AssignmentID string    `json:"assignmentId"`
	Action       string    `json:"action"`
	Due          time.Time `json:"due,omitzero"`
	Clear        bool      `json:"clear,omitempty"`
}

// DeadlineKey is the key of the alta deadline of an assignment:
// "<assignmentID>/eliminate_nss".
func DeadlineKey(assignmentID string) string { return assignmentID + "/" + ActionEliminate }

// Deadlines maps an event of the assignment assignmentID to deadline
// changes:
//   - NSSAssigned sets eliminate_nss at AltaDeadline (the end of the third
//     calendar day after the assignment day, Europe/Madrid);
//   - AltaRequested, NSSEliminated and AssignmentCancelled clear it.
//
// Other events change nothing (nil).
func Deadlines(assignmentID string, event any) []DeadlineChange {
	c := DeadlineChange{Key: DeadlineKey(assignmentID), AssignmentID: assignmentID, Action: ActionEliminate}
	switch ev := event.(type) {
	case NSSAssigned:
		c.Due = ev.AltaDeadline
		return []DeadlineChange{c}
	case AltaRequested, NSSEliminated, AssignmentCancelled:
		c.Clear = true
		return []DeadlineChange{c}
	}
	return nil
}
