from remem.cli.main import app

app()
