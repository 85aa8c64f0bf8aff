// Package email holds the email events every aggregate that writes to an
// autorización records in its own stream: an email is requested (or skipped,
// with the reason), then the mailer records each delivery attempt. One shape
// for every aggregate lets one mailer serve them all.
package email

import "time"

// The event type names, the same in every stream.
const (
	TypeRequested = "EmailRequested"
	TypeSkipped   = "EmailSkipped"
	TypeSent      = "EmailSent"
	TypeFailed    = "EmailFailed"
)

// Requested asks the mailer to send an email; it records the outcome with
// Sent or Failed. EmailID is deterministic, so delivery can be at least once
// and deduplicated. The address is personal data: never log it.
type Requested struct {
	EmailID  string    `json:"emailId"`
	Template string    `json:"template"`
	To       string    `json:"to"`
	Subject  string    `json:"subject"`
	Body     string    `json:"body"`
	At       time.Time `json:"at"`
}

// Skipped records an email that could not be requested (no contact address
// registered), so the trail says why there was no email.
type Skipped struct {
	EmailID  string    `json:"emailId"`
	Template string    `json:"template"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// Sent records the delivery of a requested email.
type Sent struct {
	EmailID string    `json:"emailId"`
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
}

// Failed records a failed delivery attempt; Final means the mailer gave up.
type Failed struct {
	EmailID string    `json:"emailId"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
	Final   bool      `json:"final"`
	At      time.Time `json:"at"`
}
