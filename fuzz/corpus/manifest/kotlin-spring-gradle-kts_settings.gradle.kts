rootProject.name = "kotlin-demo"
