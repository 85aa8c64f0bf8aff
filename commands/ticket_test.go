package commands_test

import (
	"encoding/json"
	"time"

	"redengine/commands"
	"redengine/errs"
	"redengine/eventstore"
)

// A small aggregate for the tests: a ticket that is opened, noted and closed.

// Opened is at schema version 2: version 1 had "name" and no priority.
type Opened struct {
	Title    string `json:"title"`
	Priority int    `json:"priority"`
}

type Noted struct {
	Text string `json:"text"`
}

type Closed struct {
	Reason string `json:"reason"`
}

type ticket struct {
	Exists   bool
	Title    string
	Priority int
	Notes    []string
	Closed   bool
}

// openedV1toV2 renames name to title and sets the default priority.
func openedV1toV2(data json.RawMessage, _ eventstore.Metadata) (json.RawMessage, error) {
	var v1 struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, err
	}
	return json.Marshal(Opened{Title: v1.Name, Priority: 3})
}

func ticketCodec() *commands.Codec {
	return commands.NewCodec(
		commands.Type[Opened]("TicketOpened", 2).Upcast(1, openedV1toV2),
		commands.Type[Noted]("TicketNoted", 1),
		commands.Type[Closed]("TicketClosed", 1),
	)
}

var ticketAgg = commands.Aggregate[ticket]{
	Category: "ticket",
	Codec:    ticketCodec(),
	Evolve: func(s ticket, e commands.Event) ticket {
		switch ev := e.Data.(type) {
		case Opened:
			s.Exists, s.Title, s.Priority = true, ev.Title, ev.Priority
		case Noted:
			s.Notes = append(append([]string(nil), s.Notes...), ev.Text)
		case Closed:
			s.Closed = true
		}
		return s
	},
}

func open(title string) commands.Decide[ticket] {
	return func(s ticket, _ time.Time) ([]any, error) {
		if s.Exists {
			return nil, errs.E(errs.Precondition, "el ticket ya existe")
		}
		if title == "" {
			var f errs.Fields
			f.Add("title", "es obligatorio")
			return nil, errs.E(errs.Invalid, f)
		}
		return []any{Opened{Title: title, Priority: 1}}, nil
	}
}

func note(text string) commands.Decide[ticket] {
	return func(s ticket, _ time.Time) ([]any, error) {
		if !s.Exists {
			return nil, errs.E(errs.NotFound, "no existe el ticket")
		}
		if s.Closed {
			return nil, errs.E(errs.Precondition, "el ticket está cerrado")
		}
		return []any{Noted{Text: text}}, nil
	}
}

func closeTicket(reason string) commands.Decide[ticket] {
	return func(s ticket, _ time.Time) ([]any, error) {
		if s.Closed {
			return nil, errs.E(errs.Precondition, "el ticket ya está cerrado")
		}
		return []any{Noted{Text: "cierre: " + reason}, Closed{Reason: reason}}, nil
	}
}
