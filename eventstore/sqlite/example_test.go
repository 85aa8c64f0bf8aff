package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

func Example() {
	dir, _ := os.MkdirTemp("", "example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	opened := eventstore.EventData{
		ID:            uuid.MustParse("6f1c2a3e-0000-4000-8000-000000000001"),
		Type:          "CasoAbierto",
		SchemaVersion: 1,
		Data:          json.RawMessage(`{"caso":"C-1"}`),
		Metadata: eventstore.Metadata{
			CommandID:  "cmd-1",
			Actor:      eventstore.Actor{ID: "u1", Role: "tramitador"},
			OccurredAt: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC),
		},
	}
	r, err := s.Append(ctx, "caso-C-1", eventstore.NoStream, opened)
	fmt.Println(r.NextRevision, r.Position, err)

	// A retry of the same command appends nothing and answers the same.
	again, err := s.Append(ctx, "caso-C-1", eventstore.NoStream, opened)
	fmt.Println(again.NextRevision == r.NextRevision && again.Position == r.Position, err)

	// Appending at a stale revision is a conflict carrying the current one.
	_, err = s.Append(ctx, "caso-C-1", eventstore.NoStream, eventstore.EventData{
		ID: uuid.New(), Type: "CasoCerrado", SchemaVersion: 1, Data: json.RawMessage(`{}`)})
	fmt.Println(err)

	events, _ := s.ReadStream(ctx, "caso-C-1", 0, eventstore.Forward, 0)
	fmt.Println(len(events), events[0].Type, len(events[0].Hash))

	sub, _ := s.Subscribe(ctx, eventstore.Position{}, eventstore.Filter{StreamPrefixes: []string{"caso-"}})
	defer sub.Close()
	e, _ := sub.Next(ctx)
	fmt.Println(e.Stream, e.Position)

	rep, _ := eventstore.Verify(ctx, s, nil)
	fmt.Println(rep.Events, rep.Broken == nil)
	// Output:
	// 0 1 <nil>
	// true <nil>
	// stream "caso-C-1": expected no_stream, found revision 0
	// 1 CasoAbierto 32
	// caso-C-1 1
	// 1 true
}
