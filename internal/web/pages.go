package web

import "github.com/a-h/templ"

// pageContent is page's content as a templ component, nil for a page
// still rendered by html/template.
func pageContent(page string, v view) templ.Component {
	switch d := v.Data.(type) {
	case errorData:
		return errorPageC(v, d)
	case loginData:
		return loginPage(v, d)
	case forgotData:
		return forgotPage(v, d)
	case acceptData:
		return acceptPage(v, d)
	}
	return nil
}
