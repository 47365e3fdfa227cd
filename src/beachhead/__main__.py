from beachhead.cli.main import main

main()
