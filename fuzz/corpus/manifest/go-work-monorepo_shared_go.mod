module github.com/acme/mono/shared

go 1.22
