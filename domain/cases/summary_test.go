package cases_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"redengine/catalog/casia"
	"redengine/domain/cases"
	"redengine/eventstore"
)

// TestSummaryFoldsLikeTheFullState: along case lives that between them
// hold every event type, folding each event onto the previous summary and
// taking the summary gives the full fold's summary — no transition reads
// what Summary leaves out — and the summary drops the history.
func TestSummaryFoldsLikeTheFullState(t *testing.T) {
	at := func(h int) time.Time { return madrid(2026, 11, 2, 9, 0, 0).Add(time.Duration(h) * time.Hour) }
	aut := eventstore.Actor{ID: "ana", Role: cases.RoleAutorizado, Authorization: "A0001"}
	tram := eventstore.Actor{ID: "tram", Role: cases.RoleTramitador}
	doc := cases.Document{ID: "d1", Name: "contrato.pdf", MediaType: "application/pdf", Size: 10, SHA256: "ab", AddedBy: "ana"}
	cl := casia.Classification{Materia: "Afiliación (altas y bajas)", Categoria: "Altas", Subcategoria: "Alta fuera de plazo"}
	cl2 := casia.Classification{Materia: "Recaudación", Categoria: "Aplazamientos", Subcategoria: "Solicitud y requisitos"}
	opened := cases.CaseOpened{CaseID: "c1", Number: "CAS-2026-000001", Type: casia.Tramite, Classification: cl,
		CatalogueVersion: "v1", Origin: cases.OriginAutorizado, Authorization: "A0001", Subject: "Alta", Body: "Solicitud",
		ExtraData: map[string]string{"ccc": "28123456742"}, Documents: []cases.Document{doc}, OpenedBy: aut, OpenedAt: at(0),
		Justificante: &cases.Justificante{Number: "J-1", IssuedAt: at(0)}}
	requested := func(no, h int) cases.InformationRequested {
		return cases.InformationRequested{RequestNo: no, Text: "Aporte el contrato.", By: tram, RequestedAt: at(h), TermDays: 10,
			Deadline: at(h + 240)}
	}
	lives := map[string][]any{
		"requerimientos, desistimiento and every email outcome": {
			opened,
			cases.CaseRouted{Unit: "URE-Altas", Classification: cl, Reason: "apertura", At: at(0)},
			cases.DocumentAdded{Document: doc, By: aut},
			cases.ReplyAdded{Text: "Hola", By: aut, At: at(1)},
			cases.ReplyAdded{Text: "Recibido", Documents: []cases.Document{doc}, By: tram, At: at(2)},
			cases.CaseReclassified{From: cl, To: cl2, CatalogueVersion: "v2", ExtraData: map[string]string{"naf": "281234567840"}, By: tram, At: at(3)},
			cases.CaseRouted{Unit: "URE-Aplazamientos", Classification: cl2, Reason: "reclasificacion", At: at(3)},
			requested(1, 4),
			cases.EmailRequested{EmailID: "e1", Template: "requerimiento", To: "a@b.es", Subject: "s", Body: "b", At: at(4)},
			cases.EmailFailed{EmailID: "e1", Attempt: 1, Error: "timeout", At: at(5)},
			cases.EmailSent{EmailID: "e1", Attempt: 2, At: at(6)},
			cases.InformationProvided{RequestNo: 1, Text: "Adjunto", Documents: []cases.Document{doc}, By: aut, At: at(7)},
			requested(2, 8),
			cases.EmailSkipped{EmailID: "e2", Template: "requerimiento", Reason: "sin correo", At: at(8)},
			cases.CaseClosedDeOficio{RequestNo: 2, RequestedAt: at(8), Deadline: at(248), ClosedAt: at(248)},
			cases.EmailRequested{EmailID: "e3", Template: "cierre", To: "a@b.es", At: at(248)},
			cases.EmailFailed{EmailID: "e3", Attempt: 5, Error: "rechazado", Final: true, At: at(249)},
			cases.DesistimientoIssued{ResolutionID: "r1", Number: "RD-CAS-2026-000001", VerificationCode: "CSV1", IssuedAt: at(248)},
			cases.NotificationMadeAvailable{NotificationID: "n1", ResolutionID: "r1", Authorization: "A0001", MadeAvailableAt: at(248),
				AccessDays: 10, RejectionDeadline: at(488)},
			cases.NotificationAccessed{NotificationID: "n1", By: aut, At: at(250)},
		},
		"resolved": {opened, cases.ReplyAdded{Text: "Resuelva", By: tram, At: at(1)},
			cases.CaseResolved{Text: "Resuelto", Documents: []cases.Document{doc}, By: tram, At: at(2)}},
		"misfiled": {opened, cases.CaseClosedMisfiled{Reason: "No es de esta unidad", By: tram, At: at(1)}},
		"notification rejected": {opened, requested(1, 1),
			cases.CaseClosedDeOficio{RequestNo: 1, RequestedAt: at(1), Deadline: at(241), ClosedAt: at(241)},
			cases.DesistimientoIssued{ResolutionID: "r1", Number: "RD-CAS-2026-000001", VerificationCode: "CSV1", IssuedAt: at(241)},
			cases.NotificationMadeAvailable{NotificationID: "n1", ResolutionID: "r1", MadeAvailableAt: at(241), RejectionDeadline: at(481)},
			cases.NotificationRejected{NotificationID: "n1", At: at(481)}},
	}
	codec := cases.NewCodec()
	seen := map[string]bool{}
	for name, events := range lives {
		t.Run(name, func(t *testing.T) {
			var full, sum cases.State
			for i, e := range events {
				typ, _, _, err := codec.Encode(e)
				if err != nil {
					t.Fatal(err)
				}
				seen[typ] = true
				full = cases.Apply(full, e)
				sum = cases.Apply(sum, e).Summary()
				if want := full.Summary(); !reflect.DeepEqual(sum, want) {
					t.Fatalf("after event %d (%s):\nsummary fold %+v\nwant         %+v", i, typ, sum, want)
				}
			}
			if sum.Thread != nil || sum.Documents != nil || sum.Emails != nil || sum.Routing != nil || sum.Body != "" {
				t.Errorf("the summary keeps history: %+v", sum)
			}
			if full.Summary().Status != full.Status || full.Summary().UpdatedAt != full.UpdatedAt {
				t.Error("the summary lost the state or the last update")
			}
		})
	}
	for _, typ := range codec.Names() {
		if !seen[typ] {
			t.Errorf("no life above has a %s event", typ)
		}
	}
	if names := codec.Names(); !slices.Contains(names, cases.TypeCaseOpened) {
		t.Errorf("codec names %v", names)
	}
}
