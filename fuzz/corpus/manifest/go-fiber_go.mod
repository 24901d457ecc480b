module github.com/acme/fiber-app

go 1.22.0

require (
	github.com/gofiber/fiber/v2 v2.52.0
	github.com/joho/godotenv v1.5.1
)
