from beachhead.cli.main import app

app()
