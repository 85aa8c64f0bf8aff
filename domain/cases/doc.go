// Package cases is the CASIA case aggregate, pure: events, the state they
// fold into (Evolve) and the decisions of every command (Decider), plus the
// tiny case number sequence aggregate (SequenceAggregate, ReserveNumber) that
// hands out case numbers, and the mapping from events to scheduler deadlines
// (Deadlines).
//
// Nothing here does I/O or reads a clock: each decision is a
// commands.Decide[State], a function of the folded state and the time now
// given by the pipeline. Facts that live elsewhere (the autorización's
// contact address, the actor as authenticated by the API) come in the
// command.
//
// # Lifecycle
//
//	Open ──► abierto ──reply (tramitador)──► en_tramitacion
//	abierto | en_tramitacion ──RequestInformation──► pendiente_informacion
//	pendiente_informacion ──ProvideInformation (before the deadline)──► en_tramitacion
//	pendiente_informacion ──CloseDeOficio (at/after the deadline)──► cerrado_de_oficio
//	abierto | en_tramitacion | pendiente_informacion ──Resolve──► resuelto
//	error_incidencia, not final ──CloseMisfiled──► cerrado
//
// resuelto, cerrado and cerrado_de_oficio are final: every command on them is
// an errs.Precondition error, except the notification commands of a
// desistimiento (AccessNotification, RejectNotification) and email outcomes.
//
// # Terms
//
// The information term is 20 días naturales by the legal calendar
// (calendar.TermEnd: from the day after the request, last day moved to the
// next working day, over at 00:00 Europe/Madrid of the day after the last
// day). Information is accepted while now < deadline; the case may be
// closed de oficio when now >= deadline.
//
// The access term of a puesta a disposición is 10 días naturales counted in
// plain calendar days (calendar.CalendarDaysEnd, no move to a working day):
// art. 43.2 Ley 39/2015 makes the notification deemed rejected when ten
// natural days pass without access; that is a period of availability in the
// Sede Electrónica, which is open every day, not a term for the interested
// party to act, so art. 30.5 does not extend it. [D] — see docs/cases.md.
//
// # Identifiers
//
// Everything a decision names is derived from the state, so the pipeline can
// re-decide after a conflict and get the same events: document, email and
// notification IDs are UUIDv5 (commands.Namespace) of the case ID and a
// counter or a fixed label; the resolution number is "RD-" + the case number
// (a case has at most one desistimiento); the verification code is an
// HMAC-SHA256, keyed with the Decider's key, over the case ID, the
// information request number and its deadline (see VerificationCode).
package cases
