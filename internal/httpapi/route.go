// Package httpapi is the HTTP edge: the route table, request decoding,
// authentication and authorization, and the one mapping of errors to
// RFC 9457 problem responses. Handlers decode, call a service and encode.
package httpapi

import (
	"net/http"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Route groups: one Lambda function serves each group; the local server
// serves them all.
const (
	GroupIdentity = "identity"
	GroupPrograms = "programs"
	GroupTracking = "tracking"
)

// Access says who may call a route. It is decided for every route in the
// table, so a route cannot exist without a decision about who may call it.
type Access struct {
	// Public routes need no credentials.
	Public bool
	// Roles that may call the route; any authenticated caller when AnyRole.
	Roles   []domain.Role
	AnyRole bool
}

// Route is one entry of the route table.
type Route struct {
	Group   string
	Method  string
	Pattern string // net/http ServeMux path pattern, e.g. "/v1/programs/{id}"
	Summary string
	Access  Access
	handle  handlerFunc
}

// handlerFunc is a route's handler: it returns an error instead of writing
// one, so that every error goes through the one mapping in problem.go.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *Caller) error

func public() Access                 { return Access{Public: true} }
func anyone() Access                 { return Access{AnyRole: true} }
func roles(rs ...domain.Role) Access { return Access{Roles: rs} }
func (a Access) allows(r domain.Role) bool {
	if a.Public || a.AnyRole {
		return true
	}
	for _, x := range a.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// whenAvailable runs h while available() holds, and otherwise answers 503
// with code: a service the installation's store cannot back (a nil service)
// is refused cleanly instead of failing.
func whenAvailable(available func() bool, code, message string, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *Caller) error {
		if !available() {
			w.Header().Set("Retry-After", "60")
			writeProblem(w, http.StatusServiceUnavailable, domain.Errorf(0, code, "%s", message))
			return nil
		}
		return h(w, r, c)
	}
}
