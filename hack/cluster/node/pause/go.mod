module videoflix.local/hack/pause

go 1.22
