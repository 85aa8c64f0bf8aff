package engine

import (
	"context"
	"os"
	"strings"

	"redengine/api"
	"redengine/catalog/places"
	"redengine/commands"
	"redengine/domain/ident"
	"redengine/domain/nss"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/identity"
	"redengine/mailer"
	"redengine/projections"
	"redengine/readmodels"
	"redengine/scheduler"
)

// counterAttempts bounds the load-decide-append rounds of a province
// counter: every confirmation of the province appends to the same stream,
// so under a burst a confirmation may lose many races before it wins one.
const counterAttempts = 64

// nssFeature wires the nss capability: its API module and projections, the
// alta deadline and the elimination the scheduler runs at it.
func (e *Engine) nssFeature(dir *api.Directory) (feature, error) {
	const op = errs.Op("engine.nss")
	personKey, err := e.Secret("nss-person")
	if err != nil {
		return feature{}, errs.E(op, err)
	}
	docKey, err := e.Secret("nss-documents")
	if err != nil {
		return feature{}, errs.E(op, err)
	}
	locs := places.Default()
	if path := strings.TrimSpace(e.Config.Localidades); path != "" {
		if locs, err = places.LoadLocalidadesFile(path); err != nil {
			return feature{}, errs.E(op, err)
		}
	}
	policy := nss.DefaultPolicy(nss.Places(places.DefaultTiposVia(), locs))
	if len(e.Config.DocumentTypes) > 0 {
		policy.DocumentTypes = nil
		for _, s := range e.Config.DocumentTypes {
			t, err := ident.ParseDocumentType(s)
			if err != nil {
				return feature{}, errs.E(op, errs.Invalid, "REDENGINE_NSS_DOCUMENT_TYPES: DNI y/o NIE", err)
			}
			policy.DocumentTypes = append(policy.DocumentTypes, t)
		}
	}
	verifier, err := identity.FromEnv(func(k string) string {
		if k == identity.EnvURL {
			return e.Config.IdentityURL
		}
		return os.Getenv(k)
	})
	if err != nil {
		return feature{}, errs.E(op, err)
	}
	mod := &api.NSS{
		Assignments:  commands.NewHandler(e.Store, e.Clock, nss.Aggregate(), e.conflictHook()),
		People:       commands.NewHandler(e.Store, e.Clock, nss.PersonReservationAggregate(), e.conflictHook(), commands.WithMaxAttempts(10)),
		Counters:     commands.NewHandler(e.Store, e.Clock, nss.CounterAggregate(), e.conflictHook(), commands.WithMaxAttempts(counterAttempts)),
		Dir:          dir,
		Store:        e.Store,
		DB:           e.Reads,
		Clock:        e.Clock,
		Policy:       policy,
		Localidades:  locs,
		Verifier:     verifier,
		PersonSecret: personKey,
		DocumentKey:  docKey,
		// The projections runner starts after the features are built.
		Wait: func(ctx context.Context, pos eventstore.Position) error {
			return e.Projections.WaitFor(ctx, readmodels.NSSName, pos)
		},
	}
	return feature{
		Module:          mod,
		Projections:     []projections.Projection{readmodels.NSS{CodeKey: docKey}},
		Deadlines:       nssDeadlines(nss.Codec()),
		DeadlineStreams: []string{nss.Category + "-"},
		Actions:         map[string]scheduler.Dispatcher{nss.ActionEliminate: mod.EliminateDue},
		Recorders: mailer.ByCategory{nss.Category: mailer.CommandRecorder(mod.Assignments, func(o mailer.Outcome) commands.Decide[nss.State] {
			return nss.RecordEmailOutcome(nss.EmailOutcome{EmailID: o.EmailID, Attempt: o.Attempt, Sent: o.Sent, Error: o.Error, Final: o.Final}, mailer.SystemActor())
		})},
	}, nil
}

// nssDeadlineTypes are the assignment events that set or clear the alta
// deadline (nss.Deadlines).
var nssDeadlineTypes = map[string]bool{
	nss.TypeNSSAssigned: true, nss.TypeAltaRequested: true, nss.TypeNSSEliminated: true, nss.TypeAssignmentCancelled: true,
}

// nssDeadlines maps the assignment events to the scheduler's deadlines:
// NSSAssigned sets eliminate_nss at the alta deadline; an alta, an
// elimination or a cancellation clears it. Events of other streams are
// another feature's.
func nssDeadlines(codec *commands.Codec) scheduler.Mapper {
	return func(ev eventstore.Event) ([]scheduler.Change, error) {
		if !strings.HasPrefix(ev.Stream, nss.Category+"-") || !nssDeadlineTypes[ev.Type] {
			return nil, nil
		}
		v, err := codec.Decode(ev)
		if err != nil {
			return nil, err
		}
		id := strings.TrimPrefix(ev.Stream, nss.Category+"-")
		var out []scheduler.Change
		for _, c := range nss.Deadlines(id, v) {
			ch := scheduler.Change{Kind: scheduler.Set, DeadlineID: c.Key, DueAt: c.Due, Action: c.Action, Target: c.AssignmentID}
			if c.Clear {
				ch = scheduler.Change{Kind: scheduler.Clear, DeadlineID: c.Key}
			}
			out = append(out, ch)
		}
		return out, nil
	}
}
