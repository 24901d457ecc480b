module example.com/echo-app

go 1.21

require github.com/labstack/echo/v4 v4.11.4

require github.com/labstack/gommon v0.4.2 // indirect
