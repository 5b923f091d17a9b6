package kindimage

import "testing"

func TestParseList(t *testing.T) {
	out := `REF                                          TYPE                                                 DIGEST                                                                  SIZE      PLATFORMS   LABELS
kubeproof.local/workload:0123456789ab        application/vnd.docker.distribution.manifest.v2+json sha256:1dc40a5f55c217c2017968d61ced6c2192dbfece44f19a1b9a2721bd17861248 14.7 MiB  linux/amd64 io.cri-containerd.image=managed
kubeproof.local/workload@sha256:1dc40a5f55c2 application/vnd.docker.distribution.manifest.v2+json sha256:1dc40a5f55c217c2017968d61ced6c2192dbfece44f19a1b9a2721bd17861248 14.7 MiB  linux/amd64 io.cri-containerd.image=managed
`
	got, err := parseList(out)
	if err != nil {
		t.Fatal(err)
	}
	want := "sha256:1dc40a5f55c217c2017968d61ced6c2192dbfece44f19a1b9a2721bd17861248"
	if len(got) != 2 || got["kubeproof.local/workload:0123456789ab"] != want || got["kubeproof.local/workload@sha256:1dc40a5f55c2"] != want {
		t.Errorf("parseList: got %v", got)
	}
	for _, empty := range []string{"", "REF TYPE DIGEST SIZE PLATFORMS LABELS\n"} {
		if got, err := parseList(empty); err != nil || len(got) != 0 {
			t.Errorf("parseList(%q): want no images, got %v (%v)", empty, got, err)
		}
	}
	if _, err := parseList("REF TYPE DIGEST\nbroken line\n"); err == nil {
		t.Error("parseList of a line without a digest: want an error")
	}
}
