package eventstore_test

import (
	"encoding/json"
	"testing"

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
