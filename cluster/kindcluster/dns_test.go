package kindcluster

import "testing"

func TestForwardBlockRemoval(t *testing.T) {
	corefile := `.:53 {
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
}
`
	want := `.:53 {
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
}
`
	if got := forwardBlock.ReplaceAllString(corefile, ""); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	oneLine := "    forward . 8.8.8.8\n    cache 30\n"
	if got := forwardBlock.ReplaceAllString(oneLine, ""); got != "    cache 30\n" {
		t.Errorf("one-line forward: got %q", got)
	}
}
