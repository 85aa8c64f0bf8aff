package mailer

import (
	"context"
	"fmt"
	"strings"

	"redengine/commands"
	"redengine/errs"
	"redengine/eventstore"
)

// ActorID is the actor ID of the events the mailer causes.
const ActorID = "mailer"

// SystemActor is the actor of outcome commands: the engine itself (role
// "system", which the aggregates' RecordEmailOutcome requires).
func SystemActor() eventstore.Actor { return eventstore.Actor{ID: ActorID, Role: "system"} }

// CommandRecorder returns a Recorder that runs an aggregate's outcome
// command through its command pipeline: the aggregate ID is the stream name
// without "<category>-", the command ID is Outcome.CommandID (so a repeated
// record appends nothing), the actor is SystemActor and the causation is the
// email. decide maps the outcome to the aggregate's RecordEmailOutcome
// decision, e.g. for cases:
//
//	mailer.CommandRecorder(caseHandler, func(o mailer.Outcome) commands.Decide[cases.State] {
//		return decider.RecordEmailOutcome(cases.EmailOutcome{Actor: mailer.SystemActor(),
//			EmailID: o.EmailID, Attempt: o.Attempt, Sent: o.Sent, Error: o.Error, Final: o.Final})
//	})
func CommandRecorder[S any](h *commands.Handler[S], decide func(Outcome) commands.Decide[S]) Recorder {
	prefix := h.Aggregate().Category + "-"
	return RecorderFunc(func(ctx context.Context, stream string, o Outcome) (eventstore.Position, error) {
		id, ok := strings.CutPrefix(stream, prefix)
		if !ok || id == "" {
			return eventstore.Position{}, errs.E(errs.Op("mailer.CommandRecorder"), errs.Internal,
				fmt.Sprintf("el flujo %q no es de la categoría %q", stream, h.Aggregate().Category))
		}
		res, err := h.Handle(ctx, id, commands.Meta{
			CommandID:   o.CommandID(),
			CausationID: "email:" + o.EmailID,
			Actor:       SystemActor(),
		}, decide(o))
		if err != nil {
			return eventstore.Position{}, err
		}
		return res.Position, nil
	})
}
