from remem.server.cli import app

app()
