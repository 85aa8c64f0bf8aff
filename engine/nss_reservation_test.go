package engine_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"redengine/commands"
	"redengine/domain/ident"
	"redengine/domain/nss"
	"redengine/engine/enginetest"
	"redengine/eventstore"
)

// TestNSSAuthorizationLeftOut: a user of exactly one autorización may leave
// it out; the assignment is that autorización's.
func TestNSSAuthorizationLeftOut(t *testing.T) {
	w := newNSSWorld(t)
	wait(t, w)
	form := nssForm("", dni(11000001))
	delete(form, "authorization")
	v := w.request(t, w.luis, form)
	if v.Authorization != autAna || v.Summary.Authorization != autAna {
		t.Errorf("acting for %q", v.Authorization)
	}
	// ana belongs to autAna only as well: she may confirm it.
	w.Post(w.ana, "/v1/nss-assignments/"+v.ID+"/confirm", nil).Want(t, http.StatusOK)
}

// TestNSSConfirmIdempotent: a confirmation repeated with the same
// Idempotency-Key returns the first answer and issues no second number.
func TestNSSConfirmIdempotent(t *testing.T) {
	w := newNSSWorld(t)
	v := w.request(t, w.ana, nssForm(autAna, dni(12000001)))
	key := map[string]string{"Idempotency-Key": "confirm-" + v.ID}
	path := "/v1/nss-assignments/" + v.ID + "/confirm"
	var a, b assignmentView
	first := w.Do(enginetest.Request{Method: http.MethodPost, Path: path, Token: w.ana, Headers: key}).Want(t, http.StatusOK)
	first.JSON(t, &a)
	again := w.Do(enginetest.Request{Method: http.MethodPost, Path: path, Token: w.ana, Headers: key}).Want(t, http.StatusOK)
	again.JSON(t, &b)
	if a.NSS == "" || b.NSS != a.NSS || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeat: %s then %s, replayed %q", a.NSS, b.NSS, again.Header.Get("Idempotent-Replayed"))
	}
	// Without the key: nothing changes either.
	var c assignmentView
	w.Post(w.ana, path, nil).Want(t, http.StatusOK).JSON(t, &c)
	if c.NSS != a.NSS {
		t.Errorf("confirmed again: %s", c.NSS)
	}
	evs, err := w.Store.ReadStream(t.Context(), "nsscounter-28", 0, eventstore.Forward, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Errorf("%d numbers issued", len(evs))
	}
	n, err := ident.ParseNSS(a.NSS)
	if err != nil || n.Province() != 28 || n.Number() != 1 {
		t.Errorf("NSS %s: %v", a.NSS, err)
	}
}

// TestNSSReservationRecovery: a reservation left by a request that failed
// before writing its assignment is taken over once the grace period is
// over; one left by an assignment cancelled (or eliminated) without its
// release being recorded is taken over at once.
func TestNSSReservationRecovery(t *testing.T) {
	w := newNSSWorld(t)
	ctx := t.Context()
	secret, err := w.Secret("nss-person")
	if err != nil {
		t.Fatal(err)
	}
	people := commands.NewHandler(w.Store, w.Clock, nss.PersonReservationAggregate())
	system := commands.Meta{Actor: eventstore.Actor{ID: "test", Role: "system"}}

	// An orphan: reserved for an assignment whose stream was never written.
	doc := dni(13000001)
	key := nss.PersonKey(secret, ident.Document{Type: ident.DocumentDNI, Number: doc})
	orphan := "0b6c5f4e-0000-4000-8000-000000000001"
	if _, err := people.Handle(ctx, key, system, nss.Reserve(orphan)); err != nil {
		t.Fatal(err)
	}
	w.Post(w.ana, "/v1/nss-assignments", nssForm(autAna, doc)).Want(t, http.StatusConflict)
	w.Clock.Advance(3 * time.Minute)
	v := w.request(t, w.ana, nssForm(autAna, doc))
	l, err := people.Load(ctx, key)
	if err != nil || l.State.Holder != v.ID {
		t.Fatalf("holder %+v, %v", l.State, err)
	}
	if r := lastRelease(t, w, key); r["assignmentId"] != orphan || r["reason"] != "orphan" {
		t.Errorf("release: %v", r)
	}

	// Cancelled, but the release was never recorded (the command ran
	// alone): the next request frees the person and goes on.
	doc2 := dni(13000002)
	v2 := w.request(t, w.ana, nssForm(autAna, doc2))
	assignments := commands.NewHandler(w.Store, w.Clock, nss.Aggregate())
	ana := commands.Meta{Actor: eventstore.Actor{ID: "ana", Role: "autorizado", Authorization: autAna}}
	if _, err := assignments.Handle(ctx, v2.ID, ana, nss.Cancel(ana.Actor)); err != nil {
		t.Fatal(err)
	}
	v3 := w.request(t, w.ana, nssForm(autAna, doc2))
	key2 := nss.PersonKey(secret, ident.Document{Type: ident.DocumentDNI, Number: doc2})
	if r := lastRelease(t, w, key2); r["assignmentId"] != v2.ID || r["reason"] != "cancelled" {
		t.Errorf("release: %v", r)
	}
	if l, _ := people.Load(ctx, key2); l.State.Holder != v3.ID {
		t.Errorf("holder %+v", l.State)
	}
}

// lastRelease returns the data of the last NSSPersonReleased of a person.
func lastRelease(t *testing.T, w *nssWorld, key string) map[string]any {
	t.Helper()
	evs, err := w.Store.ReadStream(t.Context(), "nssperson-"+key, 0, eventstore.Forward, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	for _, e := range evs {
		if e.Type == nss.TypePersonReleased {
			out = map[string]any{}
			if err := json.Unmarshal(e.Data, &out); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}
