module github.com/acme/gin-api

go 1.22

toolchain go1.22.1

require (
	github.com/gin-gonic/gin v1.9.1
	github.com/jackc/pgx/v5 v5.5.3
	github.com/stretchr/testify v1.8.4
)

require (
	github.com/bytedance/sonic v1.9.1 // indirect
	github.com/gin-contrib/sse v0.1.0 // indirect
)
