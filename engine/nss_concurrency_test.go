package engine_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"redengine/eventstore"
)

// post sends a JSON POST outside the test's goroutine (no t.Fatal) and
// returns the status and body.
func post(client *http.Client, url, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(http.MethodPost, url, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// TestNSSConcurrentConfirmations: N confirmations at once in one province
// get N distinct NSS, numbers 1…N of the province's counter, through
// optimistic concurrency on the counter stream.
func TestNSSConcurrentConfirmations(t *testing.T) {
	const n = 32
	w := newNSSWorld(t)
	ids := make([]string, n)
	for i := range n {
		ids[i] = w.request(t, w.ana, nssForm(autAna, dni(80000000+i))).ID
	}
	type result struct {
		status int
		nss    string
		err    error
	}
	results := make([]result, n)
	client := &http.Client{Timeout: time.Minute}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			status, body, err := post(client, w.URL+"/v1/nss-assignments/"+ids[i]+"/confirm", w.ana, nil)
			var v assignmentView
			if err == nil && status == http.StatusOK {
				err = json.Unmarshal(body, &v)
			}
			if err == nil && status != http.StatusOK {
				err = &statusErr{status, string(body)}
			}
			results[i] = result{status, v.NSS, err}
		})
	}
	close(start)
	wg.Wait()
	seen := map[string]bool{}
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("confirmation %d: %v", i, r.err)
		}
		if seen[r.nss] {
			t.Fatalf("NSS %s issued twice", r.nss)
		}
		seen[r.nss] = true
		if got := w.get(t, w.ana, ids[i]); got.NSS != r.nss || got.State != "assigned" {
			t.Errorf("assignment %d: %+v, answered %s", i, got, r.nss)
		}
	}
	evs, err := w.Store.ReadStream(t.Context(), "nsscounter-28", 0, eventstore.Forward, 0)
	if err != nil {
		t.Fatal(err)
	}
	var numbers []int
	for _, e := range evs {
		var ev struct {
			Number       int    `json:"number"`
			NSS          string `json:"nss"`
			AssignmentID string `json:"assignmentId"`
		}
		if err := json.Unmarshal(e.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if !seen[ev.NSS] || !slices.Contains(ids, ev.AssignmentID) {
			t.Errorf("counter event %+v", ev)
		}
		numbers = append(numbers, ev.Number)
	}
	if len(numbers) != n {
		t.Fatalf("%d numbers issued for %d confirmations", len(numbers), n)
	}
	for i, num := range numbers {
		if num != i+1 {
			t.Fatalf("numbers %v, want 1…%d", numbers, n)
		}
	}
}

// TestNSSConcurrentSamePerson: N requests at once for the same person: one
// is accepted, the others refused; one assignment stream exists.
func TestNSSConcurrentSamePerson(t *testing.T) {
	const n = 16
	w := newNSSWorld(t)
	before := w.head(t)
	statuses := make([]int, n)
	errs := make([]error, n)
	client := &http.Client{Timeout: time.Minute}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			statuses[i], _, errs[i] = post(client, w.URL+"/v1/nss-assignments", w.ana, nssForm(autAna, dni(90000001)))
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for i, s := range statuses {
		switch {
		case errs[i] != nil:
			t.Fatalf("request %d: %v", i, errs[i])
		case s == http.StatusCreated:
			created++
		case s != http.StatusConflict:
			t.Errorf("request %d: status %d", i, s)
		}
	}
	if created != 1 {
		t.Fatalf("%d requests accepted, want 1", created)
	}
	evs, err := w.Store.ReadAll(t.Context(), before, 0)
	if err != nil {
		t.Fatal(err)
	}
	streams := map[string]bool{}
	for _, e := range evs {
		if e.Type == "NSSAssignmentRequested" {
			streams[e.Stream] = true
		}
	}
	if len(streams) != 1 {
		t.Errorf("assignment streams: %v", streams)
	}
}

type statusErr struct {
	status int
	body   string
}

func (e *statusErr) Error() string { return "status " + strconv.Itoa(e.status) + ": " + e.body }
