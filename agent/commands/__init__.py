"""The `rebal` command line: argument parsing (cli), what each command does (session, strategy)."""
