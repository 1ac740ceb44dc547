package portal_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/partnerloop/partnerloop/internal/portal"
	"github.com/partnerloop/partnerloop/internal/portal/statementpdf"
	"github.com/partnerloop/partnerloop/internal/portaltest"
)

// TestStatementPDFNamesTheOrganizationAndThePartner: the statement says
// whose it is, by name, and whose program it comes from (issue 14, point 2).
func TestStatementPDFNamesTheOrganizationAndThePartner(t *testing.T) {
	sections, err := portal.Compute(march, []portal.Entry{entry("a", "USD", 1250, at(3, 5, 9))}, map[string]string{"prg_1": "Spring"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := statementpdf.Write(&buf, portal.Statement{Organization: "Acme Deutschland GmbH", PartnerID: "prt_a",
		Partner: "Kraftwerk Digital GmbH", Period: march, AsOf: at(4, 1, 0), Sections: sections}); err != nil {
		t.Fatal(err)
	}
	flat := strings.Join(strings.Fields(portaltest.PDFText(t, buf.Bytes())), " ")
	for _, want := range []string{"Acme Deutschland GmbH", "Kraftwerk Digital GmbH"} {
		if !strings.Contains(flat, want) {
			t.Errorf("the PDF does not name %q:\n%s", want, flat)
		}
	}
}
