package controlplane

import (
	"reflect"
	"testing"
)

func TestParseHealth(t *testing.T) {
	body := "[+]ping ok\n[+]etcd ok\n[-]shutdown failed: reason withheld\n[+]poststarthook/start-informers ok\nreadyz check failed\n"
	want := []healthCheck{
		{"ping", true, "ok"},
		{"etcd", true, "ok"},
		{"shutdown", false, "failed: reason withheld"},
		{"poststarthook/start-informers", true, "ok"},
	}
	if got := parseHealth(body); !reflect.DeepEqual(got, want) {
		t.Errorf("want %+v, got %+v", want, got)
	}
	if got := parseHealth("ok"); len(got) != 0 {
		t.Errorf("a terse answer: want no checks, got %+v", got)
	}
}
