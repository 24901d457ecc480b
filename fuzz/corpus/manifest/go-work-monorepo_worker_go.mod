module github.com/acme/mono/worker

go 1.22
