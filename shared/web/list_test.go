package web

import (
	"net/url"
	"testing"
)

func TestListHeadersSortAndSortOf(t *testing.T) {
	type row struct{ Name string }
	cols := []Column[row]{
		{Header: "users.name", Cell: func(r row) string { return r.Name }, Sort: "name"},
		{Header: "users.login", Cell: func(r row) string { return r.Name }},
	}
	base, _ := url.Parse("/users?q=li&sort=name&cursor=abc")
	l := NewList("users", cols, []row{{"a"}}, nil, base, "", false)
	if h := l.Headers[0]; h.Dir != "asc" || h.Href != "/users?q=li&sort=-name" {
		t.Fatalf("sorted column header %+v", h)
	}
	if h := l.Headers[1]; h.Href != "" || h.Dir != "" {
		t.Fatalf("unsortable column header %+v", h)
	}
	if k, desc := SortOf(url.Values{"sort": {"-name"}}, "name", "created"); k != "name" || !desc {
		t.Fatalf("SortOf -name = %q %v", k, desc)
	}
	if k, _ := SortOf(url.Values{"sort": {"password_hash"}}, "name"); k != "" {
		t.Fatalf("SortOf accepted a key not allowed: %q", k)
	}
}
