package enginetest

import "testing"

func TestPersonalData(t *testing.T) {
	leaks := []string{
		`{"msg":"x","doc":"12345678Z"}`,
		`{"doc":"X1234567L"}`,
		`{"naf":"281234567840"}`,
		`{"tel":"+34612345678"}`,
		`{"tel":"612345678"}`,
		`{"to":"ana@gestoria.es"}`,
	}
	for _, l := range leaks {
		if len(PersonalData(l)) == 0 {
			t.Errorf("%s: leak not found", l)
		}
	}
	clean := []string{
		`{"request_id":"6f0f3e0c-3c1a-5b7e-9d55-726564612345"}`,
		`{"request_id":"123456789012-3c1a"}`,
		`{"msg":"email 0b6e6a1e-8a1f-5a8e-9a57-0c4e5c2e3f10@redengine"}`,
		`{"duration_ms":612345678.5}`,
		`{"time":"2026-11-27T08:55:05.37322757Z"}`,
		`{"route":"/v1/cases/:id","status":200}`,
	}
	for _, l := range clean {
		if got := PersonalData(l); len(got) != 0 {
			t.Errorf("%s: false positive %v", l, got)
		}
	}
}
