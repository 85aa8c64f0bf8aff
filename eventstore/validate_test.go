package eventstore_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/errs"
	"redengine/eventstore"
)

func TestValidateAppendData(t *testing.T) {
	ev := func(data string, marshaled bool) eventstore.EventData {
		return eventstore.EventData{ID: uuid.New(), Type: "Paso", SchemaVersion: 1, Data: json.RawMessage(data), Marshaled: marshaled}
	}
	tests := []struct {
		name string
		ev   eventstore.EventData
		ok   bool
	}{
		{"valid JSON", ev(`{"a":1}`, false), true},
		{"invalid JSON", ev(`{"a":`, false), false},
		{"empty data", ev(``, false), false},
		{"valid and marshaled", ev(`{"a":1}`, true), true},
		// Marshaled is the caller's promise that json.Marshal produced
		// the data: the check it spares is not made.
		{"marshaled is not checked again", ev(`{"a":`, true), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := eventstore.ValidateAppend("s-1", []eventstore.EventData{tt.ev})
			if tt.ok != (err == nil) {
				t.Fatalf("ValidateAppend = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errs.Is(errs.Invalid, err) {
				t.Fatalf("error kind: %v", err)
			}
		})
	}
}

func TestCheckAppendReturnsCanonicalMetadata(t *testing.T) {
	madrid := time.FixedZone("CET", 3600)
	m1 := eventstore.Metadata{CommandID: "c1", Actor: eventstore.Actor{ID: "u", Role: "inss"}, OccurredAt: time.Date(2026, 11, 28, 10, 0, 0, 0, madrid)}
	m2 := m1
	m2.CommandID = "c2"
	evs := []eventstore.EventData{
		{ID: uuid.New(), Type: "Paso", SchemaVersion: 1, Data: json.RawMessage(`{}`), Metadata: m1},
		{ID: uuid.New(), Type: "Paso", SchemaVersion: 1, Data: json.RawMessage(`{}`), Metadata: m1},
		{ID: uuid.New(), Type: "Paso", SchemaVersion: 1, Data: json.RawMessage(`{}`), Metadata: m2},
	}
	metas, err := eventstore.CheckAppend("s-1", evs)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		want, err := eventstore.CanonicalMetadata(e.Metadata)
		if err != nil {
			t.Fatal(err)
		}
		if string(metas[i]) != string(want) {
			t.Errorf("event %d: metadata %s, want %s", i, metas[i], want)
		}
	}
	if !strings.Contains(string(metas[0]), `"2026-11-28T09:00:00Z"`) {
		t.Errorf("not in UTC: %s", metas[0])
	}
	if _, err := eventstore.CheckAppend("", evs); !errs.Is(errs.Invalid, err) {
		t.Errorf("empty stream: %v", err)
	}
}
