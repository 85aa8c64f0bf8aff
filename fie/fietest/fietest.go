// Package fietest generates valid FIE 2.0 files for tests, benchmarks and
// demos: right CCC and NAF control digits, real dates, every segment kind,
// Spanish names with accents and Ñ.
package fietest

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"redengine/fie"
)

var (
	surnames = []string{"GARCÍA", "FERNÁNDEZ", "GONZÁLEZ", "RODRÍGUEZ", "LÓPEZ", "MARTÍNEZ", "SÁNCHEZ",
		"PÉREZ", "GÓMEZ", "MARTÍN", "JIMÉNEZ", "RUIZ", "HERNÁNDEZ", "DÍAZ", "MORENO", "MUÑOZ",
		"ÁLVAREZ", "ROMERO", "ALONSO", "GUTIÉRREZ", "NAVARRO", "TORRES", "DOMÍNGUEZ", "VÁZQUEZ",
		"RAMOS", "GIL", "RAMÍREZ", "SERRANO", "BLANCO", "MOLINA", "CASTRO", "ORTIZ", "RUBIO",
		"MARÍN", "SANZ", "IGLESIAS", "NÚÑEZ", "MEDINA", "GARRIDO", "IBÁÑEZ", "PEÑA"}
	names = []string{"MARÍA", "JOSÉ", "ANTONIO", "CARMEN", "MANUEL", "ANA", "FRANCISCO", "LAURA",
		"DAVID", "ISABEL", "JUAN", "LUCÍA", "JAVIER", "PILAR", "ÁNGEL", "NURIA", "SERGIO", "ELENA",
		"IÑAKI", "BEGOÑA", "JESÚS", "ROCÍO", "RAÚL", "MONTSERRAT"}
	companyWords = []string{"CONSTRUCCIONES", "TRANSPORTES", "COMERCIAL", "HOSTELERÍA", "LIMPIEZAS",
		"INGENIERÍA", "DISTRIBUCIONES", "SERVICIOS", "TALLERES", "ALIMENTACIÓN", "LOGÍSTICA"}
	places   = []string{"DEL NORTE", "IBÉRICA", "MEDITERRÁNEO", "CASTELLANA", "ATLÁNTICA", "LEVANTE", "DEL SUR", "ARAGONESA"}
	forms    = []string{"S.L.", "S.A.", "S.L.U.", "S. COOP."}
	entities = []string{"INS", "001", "002", "010", "061", "072", "115", "151", "183", "267", "272"}
	regimens = []string{"0111", "0111", "0111", "0521", "0811", "0163"}
	dniChars = "TRWAGMYFPDXBNJZSQVHLCKE"
)

// Generate writes a valid FIE 2.0 file with the given number of companies,
// workers per company and benefit records per worker; the same seed gives
// the same file. About one record in three has an ITD, one in four an OIT
// and one in two a CIT.
func Generate(w io.Writer, companies, workersPerCompany, recordsPerWorker int, seed int64) error {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x46494532))
	fileDate := fie.D(2021, time.March, 8).AddDays(rng.IntN(1500))
	fw := fie.NewWriter(w, fileDate)
	for ci := 0; ci < companies; ci++ {
		c := Company(rng, ci)
		fw.Company(&c)
		for wi := 0; wi < workersPerCompany; wi++ {
			wk := Worker(rng, ci*workersPerCompany+wi)
			fw.Worker(&wk)
			day := fileDate.AddDays(-rng.IntN(900) - 30*recordsPerWorker)
			for ri := 0; ri < recordsPerWorker; ri++ {
				day = day.AddDays(1 + rng.IntN(40))
				b := Benefit(rng, day)
				if err := fw.Benefit(&b); err != nil {
					return err
				}
			}
		}
	}
	return fw.Close()
}

// CCC returns a valid CCC for province pp and number n (n < 10^7).
func CCC(pp, n int) string {
	first := fmt.Sprintf("%02d%07d", pp, n%10_000_000)
	dc, _ := fie.CCCControl(first)
	return first + dc
}

// NAF returns a valid NAF for province pp and number n (n < 10^8).
func NAF(pp, n int) string {
	first := fmt.Sprintf("%02d%08d", pp, n%100_000_000)
	dc, _ := fie.NAFControl(first)
	return first + dc
}

// DNI returns a valid DNI for number n.
func DNI(n int) string {
	n %= 100_000_000
	return fmt.Sprintf("%08d%c", n, dniChars[n%23])
}

// Company returns company number i (its CCC is unique for i < 52·10^7).
func Company(rng *rand.Rand, i int) fie.Company {
	pp := 1 + i%52
	name := fmt.Sprintf("%s %s %s", companyWords[rng.IntN(len(companyWords))], places[rng.IntN(len(places))], forms[rng.IntN(len(forms))])
	return fie.Company{Regimen: regimens[rng.IntN(len(regimens))], CCC: CCC(pp, i/52+rng.IntN(7)*1_000_000), Name: name}
}

// Worker returns worker number i (its NAF is unique for i < 10^8).
func Worker(rng *rand.Rand, i int) fie.Worker {
	w := fie.Worker{
		NAF:      NAF(1+rng.IntN(52), i),
		IPF:      "10" + DNI(rng.IntN(100_000_000)),
		Surname1: surnames[rng.IntN(len(surnames))],
		Name:     names[rng.IntN(len(names))],
	}
	if rng.IntN(10) > 0 {
		w.Surname2 = surnames[rng.IntN(len(surnames))]
	}
	return w
}

// Benefit returns an IT process whose baja is on start.
func Benefit(rng *rand.Rand, start fie.Date) fie.Benefit {
	cont := fie.Contingency(fmt.Sprint(1 + rng.IntN(5)))
	ci := rng.IntN(3)
	carencia := fie.Carencia("SNP"[ci : ci+1])
	if cont != fie.EnfermedadComun && rng.IntN(2) == 0 {
		carencia = fie.CarenciaNoInformada
	}
	est := 1 + rng.IntN(120)
	d := fie.DIT{
		ResponsibleEntity: entities[rng.IntN(len(entities))],
		Start:             start,
		Relapse:           fie.No,
		ProcessStart:      start,
		Contingency:       cont,
		Carencia:          carencia,
		ProcessType:       processType(est),
		EstimatedDays:     est,
		Annulled:          fie.No,
	}
	if rng.IntN(8) == 0 {
		d.Relapse = fie.Si
		d.PreviousProcess = start.AddDays(-10 - rng.IntN(150))
		d.ProcessStart = d.PreviousProcess
		d.AccumulatedDays = 1 + rng.IntN(300)
	}
	if rng.IntN(2) == 0 {
		d.End = start.AddDays(rng.IntN(est + 20))
		d.EndCause = fmt.Sprintf("%02d", 1+rng.IntN(9))
	}
	if rng.IntN(25) == 0 {
		d.NonExistentDate = start.AddDays(rng.IntN(5))
		d.NonExistentCause = fmt.Sprintf("%02d", 1+rng.IntN(5))
	}
	if rng.IntN(30) == 0 {
		d.Annulled = fie.Si
	}
	b := fie.Benefit{Kind: fie.KindIT, DIT: d}
	if rng.IntN(3) == 0 {
		pd := start.AddDays(15 + rng.IntN(60))
		b.DIT.PagoDelegadoEnd, b.DIT.PagoDelegadoEndCause = pd, fmt.Sprintf("%02d", 1+rng.IntN(6))
		b.ITD = &fie.ITD{
			Start:               pd.AddDays(1),
			InitiatingEntity:    entities[rng.IntN(len(entities))],
			CurrentEntity:       entities[rng.IntN(len(entities))],
			EntityPaymentStart:  pd.AddDays(1),
			BaseReguladoraCents: int64(2_000 + rng.IntN(15_000)),
		}
		if rng.IntN(2) == 0 {
			b.ITD.EntityPaymentEnd = pd.AddDays(1 + rng.IntN(200))
		}
	}
	if rng.IntN(4) == 0 {
		o := &fie.OIT{ReviewStart: start.AddDays(rng.IntN(60))}
		if rng.IntN(2) == 0 {
			o.Cause1Date, o.Cause1 = o.ReviewStart.AddDays(rng.IntN(20)), fmt.Sprintf("%02d", 1+rng.IntN(20))
		}
		if rng.IntN(5) == 0 {
			o.Art1702 = fie.Si
			o.CertificateDate = start.AddDays(rng.IntN(365))
		}
		b.OIT = o
	}
	if rng.IntN(2) == 0 {
		b.CIT = &fie.CIT{Date: start.AddDays(3 + rng.IntN(30)), Number: 1 + rng.IntN(20)}
	}
	return b
}

func processType(days int) fie.ProcessType {
	switch {
	case days < 5:
		return "1"
	case days <= 30:
		return "2"
	case days <= 60:
		return "3"
	}
	return "4"
}
