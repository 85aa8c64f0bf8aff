package cases

import "time"

// The actions the scheduler takes when a case deadline is due.
const (
	ActionCloseDeOficio      = "close_de_oficio"     // run Decider.CloseDeOficio on the case
	ActionRejectNotification = "reject_notification" // run Decider.RejectNotification on the case
)

// DeadlineChange is what one case event does to the scheduler's deadlines:
// set (Clear false) the deadline Key, due at Due, to run Action on the case
// CaseID; or clear it (Clear true). Each case has at most one deadline of
// each action at a time, so Key is "<caseID>/<action>".
type DeadlineChange struct {
	Key    string    `json:"key"`
	CaseID string    `json:"caseId"`
	Action string    `json:"action"`
	Due    time.Time `json:"due,omitzero"`
	Clear  bool      `json:"clear,omitempty"`
}

// DeadlineKey is the key of a case's deadline for action.
func DeadlineKey(caseID, action string) string { return caseID + "/" + action }

// Deadlines maps an event of the case caseID to deadline changes:
//   - InformationRequested sets close_de_oficio at its deadline;
//   - InformationProvided, CaseResolved, CaseClosedMisfiled and
//     CaseClosedDeOficio clear it;
//   - NotificationMadeAvailable sets reject_notification at its rejection
//     deadline;
//   - NotificationAccessed and NotificationRejected clear it.
//
// Other events change nothing (nil).
func Deadlines(caseID string, event any) []DeadlineChange {
	set := func(action string, due time.Time) []DeadlineChange {
		return []DeadlineChange{{Key: DeadlineKey(caseID, action), CaseID: caseID, Action: action, Due: due}}
	}
	clear := func(action string) []DeadlineChange {
		return []DeadlineChange{{Key: DeadlineKey(caseID, action), CaseID: caseID, Action: action, Clear: true}}
	}
	switch ev := event.(type) {
	case InformationRequested:
		return set(ActionCloseDeOficio, ev.Deadline)
	case InformationProvided, CaseResolved, CaseClosedMisfiled, CaseClosedDeOficio:
		return clear(ActionCloseDeOficio)
	case NotificationMadeAvailable:
		return set(ActionRejectNotification, ev.RejectionDeadline)
	case NotificationAccessed, NotificationRejected:
		return clear(ActionRejectNotification)
	}
	return nil
}
