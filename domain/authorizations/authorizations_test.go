package authorizations

import (
	"strings"
	"testing"

	"redengine/commands/scenario"
	"redengine/errs"
)

func registered() Registered {
	return Registered{Number: "1234567", UsuarioPrincipal: "ana", Users: []string{"ana", "luis"}, CCCs: []string{"28123456742"}}
}

func TestRegister(t *testing.T) {
	r := registered()
	scenario.For(Aggregate()).When(Register(r)).Then(t, r)
	scenario.For(Aggregate()).Given(r).When(Register(r)).ThenError(t, errs.Precondition)
}

func TestSetContact(t *testing.T) {
	s := scenario.For(Aggregate()).Given(registered())
	s.When(SetContact("ana", "gestoria@example.es")).Then(t, ContactChanged{Email: "gestoria@example.es"})
	s.When(SetContact("luis", "gestoria@example.es")).ThenError(t, errs.Forbidden)
	s.When(SetContact("ana", "no-es-correo")).ThenErrorField(t, "email")
	// The same rules as every address the engine takes (ident.ParseEmail):
	// a local part over 64 characters is refused; the domain is lower-cased.
	s.When(SetContact("ana", strings.Repeat("x", 300)+"@gestoria.es")).ThenErrorField(t, "email")
	s.When(SetContact("ana", "Buzon@Gestoria.ES")).Then(t, ContactChanged{Email: "Buzon@gestoria.es"})
	s.Given(ContactChanged{Email: "a@b.es"}).When(SetContact("ana", "a@b.es")).ThenNothing(t)
	scenario.For(Aggregate()).When(SetContact("ana", "a@b.es")).ThenError(t, errs.NotFound)
}

func TestValidate(t *testing.T) {
	good := RegisterInput{Number: " 1234567 ", UsuarioPrincipal: "ana", Users: []string{"luis", "luis"}, CCCs: []string{"28123456742", "28123456742"}}
	r, err := good.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if r.Number != "1234567" || len(r.Users) != 2 || r.Users[0] != "ana" || len(r.CCCs) != 1 {
		t.Errorf("normalised %+v", r)
	}
	bad := RegisterInput{Number: "12-34", Users: []string{""}, CCCs: []string{"28123456700"}, ContactEmail: "x"}
	_, err = bad.Validate()
	want := map[string]bool{"number": true, "usuarioPrincipal": true, "users[0]": true, "cccs[0]": true, "contactEmail": true}
	got := errs.FieldsOf(err)
	if !errs.Is(errs.Invalid, err) || len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for _, f := range got {
		if !want[f.Field] {
			t.Errorf("unexpected field %s", f.Field)
		}
	}
}

func TestMembership(t *testing.T) {
	a := State{Number: "A", Users: []string{"ana"}}
	b := State{Number: "B", Users: []string{"ana", "luis"}}
	all := []State{a, b}
	if got := Membership("ana", nil, all); len(got) != 2 {
		t.Errorf("ana belongs to both: %v", got)
	}
	if got := Membership("ana", []string{"B", "C"}, all); len(got) != 1 || got[0].Number != "B" {
		t.Errorf("claim narrows to B: %v", got)
	}
	if got := Membership("luis", []string{"A"}, all); len(got) != 0 {
		t.Errorf("claim cannot widen: %v", got)
	}
}
